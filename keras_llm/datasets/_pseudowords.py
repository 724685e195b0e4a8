"""Deterministic generator of pronounceable lowercase pseudo-words.

Pseudo-words are built from consonant-vowel syllables with an optional final
consonant (for example ``"bako"`` or ``"tirel"``). They only ever contain the
letters ``a-z``, so they can never collide with bracketed special tokens such
as ``"<pad>"`` or ``"<eos>"``; the bare names of those tokens are excluded too.
"""

import numpy as np

_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z")
_VOWELS = ("a", "e", "i", "o", "u")
_CODAS = ("", "", "", "", "l", "n", "r", "s", "k", "m")

RESERVED_STRINGS = frozenset(
    ["<pad>", "<unk>", "<bos>", "<eos>", "<mask>", "<cls>", "<sep>",
     "pad", "unk", "bos", "eos", "mask", "cls", "sep"]
)

# Upper bound on distinct words the syllable inventory can produce with 2-4
# syllables (used to fail fast instead of looping forever).
_CAPACITY = sum((len(_ONSETS) * len(_VOWELS)) ** k for k in (2, 3, 4)) * 7


def pseudo_words(count, seed=0, exclude=()):
    """Returns ``count`` distinct pseudo-words, deterministic for ``seed``.

    Args:
        count: Number of words to generate (non-negative int).
        seed: An int seed or a ``numpy.random.Generator`` to draw from.
        exclude: Iterable of strings that must not be produced (for example
            the words of another vocabulary).

    Returns:
        A list of ``count`` distinct lowercase strings, in generation order.

    Example:
        >>> words = pseudo_words(3, seed=0)
        >>> len(set(words)) == 3 and all(w.isalpha() for w in words)
        True
    """
    count = int(count)
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}.")
    if count > _CAPACITY // 2:
        raise ValueError(f"Cannot generate {count} distinct pseudo-words.")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    banned = set(RESERVED_STRINGS) | {str(w).lower() for w in exclude}
    seen = set()
    words = []
    # Longer words become more likely as the requested vocabulary grows, so
    # that rejection sampling stays cheap for large counts.
    max_syllables = 2 if count <= 200 else (3 if count <= 20000 else 4)
    while len(words) < count:
        batch = max(64, 2 * (count - len(words)))
        n_syl = rng.integers(2, max_syllables + 1, size=batch)
        onsets = rng.integers(0, len(_ONSETS), size=(batch, 4))
        vowels = rng.integers(0, len(_VOWELS), size=(batch, 4))
        codas = rng.integers(0, len(_CODAS), size=batch)
        for b in range(batch):
            word = "".join(
                _ONSETS[onsets[b, s]] + _VOWELS[vowels[b, s]] for s in range(n_syl[b])
            ) + _CODAS[codas[b]]
            if word in seen or word in banned:
                continue
            seen.add(word)
            words.append(word)
            if len(words) == count:
                break
    return words
