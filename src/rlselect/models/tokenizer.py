"""A character-level tokenizer with a chat template, saved in the standard Hugging Face format.

One token per byte (so one per character for ASCII text), built as a byte-level BPE with no merges:
the same pipeline as Qwen2's own tokenizer. That matters because `AutoTokenizer` loads any
checkpoint whose config says `qwen2` with the Qwen2 tokenizer class; with this construction both
classes produce identical ids, so TRL, lm-eval and `AutoTokenizer.from_pretrained(path)` all see
the tokenizer the model was trained with. Nothing is unknown: every byte has a token.
"""

from __future__ import annotations

PAD, EOS, BOS = "<|endoftext|>", "<|im_end|>", "<|im_start|>"
SPECIAL_TOKENS = [PAD, EOS, BOS]

# ChatML, as Qwen2.5 uses; short role tags keep a character-level model's sequences small.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_char_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())  # 256 printable stand-ins for bytes
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + alphabet)}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token=PAD,
        eos_token=EOS,
        bos_token=BOS,
        padding_side="left",  # decoder-only generation pads on the left
    )
    tok.chat_template = CHAT_TEMPLATE
    return tok
