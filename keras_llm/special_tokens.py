"""Special tokens shared by every tokenizer: fixed strings, fixed ids.

Every vocabulary in keras_llm starts with the same seven entries, so a model, a data builder or an exported
SavedModel can rely on the ids without asking the tokenizer. This module is the one place they are defined; it
imports nothing (no TensorFlow, no Keras), so models, losses and generation read the ids from here too
(`keras_llm.tokenizers.special_tokens` re-exports it):

| id | token    | use                                                     |
|----|----------|---------------------------------------------------------|
| 0  | `<pad>`  | padding; losses and metrics ignore it                   |
| 1  | `<unk>`  | out-of-vocabulary (never produced by the byte tokenizer) |
| 2  | `<bos>`  | start of a generated sequence / decoder input           |
| 3  | `<eos>`  | end of document (between packed documents), end of generation |
| 4  | `<mask>` | masked-LM corruption                                     |
| 5  | `<cls>`  | classification / start of a BERT-style sequence          |
| 6  | `<sep>`  | end of a BERT-style segment                             |

Example:
>>> from keras_llm.special_tokens import EOS_ID, PAD_ID, SPECIAL_TOKENS
>>> PAD_ID, EOS_ID, SPECIAL_TOKENS[EOS_ID]
(0, 3, '<eos>')
"""

PAD, UNK, BOS, EOS, MASK, CLS, SEP = "<pad>", "<unk>", "<bos>", "<eos>", "<mask>", "<cls>", "<sep>"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS, MASK, CLS, SEP)
PAD_ID, UNK_ID, BOS_ID, EOS_ID, MASK_ID, CLS_ID, SEP_ID = range(len(SPECIAL_TOKENS))
NUM_SPECIAL_TOKENS = len(SPECIAL_TOKENS)
# Ids that detokenize drops: structural markers, not text. <unk> and <mask> stay visible as their strings.
SILENT_IDS = (PAD_ID, BOS_ID, EOS_ID, CLS_ID, SEP_ID)

__all__ = [
    "BOS", "BOS_ID", "CLS", "CLS_ID", "EOS", "EOS_ID", "MASK", "MASK_ID", "NUM_SPECIAL_TOKENS", "PAD", "PAD_ID",
    "SEP", "SEP_ID", "SILENT_IDS", "SPECIAL_TOKENS", "UNK", "UNK_ID",
]
