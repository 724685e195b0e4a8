"""Special tokens shared by every tokenizer: fixed strings, fixed ids.

Every vocabulary in keras_llm starts with the same seven entries, so a model, a data builder or an exported
SavedModel can rely on the ids without asking the tokenizer:

| id | token    | use                                                     |
|----|----------|---------------------------------------------------------|
| 0  | `<pad>`  | padding; losses and metrics ignore it                   |
| 1  | `<unk>`  | out-of-vocabulary (never produced by the byte tokenizer) |
| 2  | `<bos>`  | start of a generated sequence / decoder input           |
| 3  | `<eos>`  | end of document (between packed documents), end of generation |
| 4  | `<mask>` | masked-LM corruption                                     |
| 5  | `<cls>`  | classification / start of a BERT-style sequence          |
| 6  | `<sep>`  | end of a BERT-style segment                             |
"""

PAD, UNK, BOS, EOS, MASK, CLS, SEP = "<pad>", "<unk>", "<bos>", "<eos>", "<mask>", "<cls>", "<sep>"
SPECIAL_TOKENS = (PAD, UNK, BOS, EOS, MASK, CLS, SEP)
PAD_ID, UNK_ID, BOS_ID, EOS_ID, MASK_ID, CLS_ID, SEP_ID = range(len(SPECIAL_TOKENS))
NUM_SPECIAL_TOKENS = len(SPECIAL_TOKENS)
# Ids that detokenize drops: structural markers, not text. <unk> and <mask> stay visible as their strings.
SILENT_IDS = (PAD_ID, BOS_ID, EOS_ID, CLS_ID, SEP_ID)
