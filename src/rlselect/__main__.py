from rlselect.cli import main

main()
