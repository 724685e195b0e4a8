"""Learning byte-level BPE merges from word counts (what `BytePairTokenizer.train` / `from_counts` run).

1. The corpus is normalized and split into GPT-2's words in the graph (`BytePairTokenizer.counting_units`), and
   the distinct words are counted (`count_units`, streamed; the TFX VocabularyGen counts them with Beam).
2. The vocabulary starts as keras_llm's seven special tokens (ids 0-6) and the 256 single bytes (ids 7-262, in
   byte order), each word as its bytes.
3. Repeatedly, the most frequent adjacent pair of symbols over all words (counted with the words' frequencies;
   ties go to the pair whose two tokens' bytes sort first, so training is deterministic) becomes a merge and,
   unless the vocabulary already spells it, a new token. Its occurrences in every word are merged left to
   right, the way the tokenizer applies merges, and only the counts of pairs around them are updated.
4. It stops at `vocab_size` tokens or when no pair occurs `min_frequency` times.
"""
import collections
import heapq

from keras_llm import special_tokens as st
from keras_llm.tokenizers.byte_pair import bytes_to_token

FIRST_BYTE_ID = st.NUM_SPECIAL_TOKENS


def merges_from_counts(counts, vocab_size, min_frequency=2):
    """`{word bytes: count}` -> (vocabulary: token -> id, merges: [(left, right)]) in GPT-2's file spelling."""
    check_vocab_size(vocab_size)
    if not counts:
        raise ValueError("cannot train a vocabulary: the corpus holds no words")
    token_bytes = [b""] * FIRST_BYTE_ID + [bytes([b]) for b in range(256)]
    id_of = {raw: i for i, raw in enumerate(token_bytes) if i >= FIRST_BYTE_ID}
    words = [[FIRST_BYTE_ID + b for b in word] for word in counts]
    freqs = list(counts.values())

    pair_count = collections.Counter()
    pair_words = collections.defaultdict(set)
    for w, (word, freq) in enumerate(zip(words, freqs)):
        for pair in zip(word, word[1:]):
            pair_count[pair] += freq
            pair_words[pair].add(w)
    heap = [(-c, token_bytes[a], token_bytes[b], (a, b)) for (a, b), c in pair_count.items()]
    heapq.heapify(heap)

    merges = []
    while len(token_bytes) < vocab_size and heap:
        negative, _, _, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negative:
            continue  # stale entry: the count changed since it was pushed
        if -negative < min_frequency:
            break
        left, right = pair
        raw = token_bytes[left] + token_bytes[right]
        if raw not in id_of:
            id_of[raw] = len(token_bytes)
            token_bytes.append(raw)
        new = id_of[raw]
        merges.append(pair)
        changed = set()
        for w in pair_words.pop(pair):
            word, freq = words[w], freqs[w]
            merged = _merge(word, left, right, new)
            if merged is word:
                continue
            for old_pair in zip(word, word[1:]):
                pair_count[old_pair] -= freq
                changed.add(old_pair)
            for new_pair in zip(merged, merged[1:]):
                pair_count[new_pair] += freq
                pair_words[new_pair].add(w)
                changed.add(new_pair)
            words[w] = merged
        pair_count.pop(pair, None)
        for p in changed:
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, token_bytes[p[0]], token_bytes[p[1]], p))
            else:
                pair_count.pop(p, None)
    vocabulary = {t: i for i, t in enumerate(st.SPECIAL_TOKENS)}
    for i, raw in enumerate(token_bytes[FIRST_BYTE_ID:], FIRST_BYTE_ID):
        vocabulary[bytes_to_token(raw)] = i
    return vocabulary, [(bytes_to_token(token_bytes[a]), bytes_to_token(token_bytes[b])) for a, b in merges]


def _merge(word, left, right, new):
    """`word` with each occurrence of (left, right) merged left to right; the same list if there is none."""
    out, i, n, hit = [], 0, len(word), False
    while i < n:
        if i + 1 < n and word[i] == left and word[i + 1] == right:
            out.append(new)
            i += 2
            hit = True
        else:
            out.append(word[i])
            i += 1
    return out if hit else word


def check_vocab_size(vocab_size):
    base = FIRST_BYTE_ID + 256
    if vocab_size < base:
        raise ValueError(f"vocab_size must be at least {base} (7 special tokens + 256 bytes), got {vocab_size}")
