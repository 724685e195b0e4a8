"""A first-order Markov chain over pseudo-words with exactly known entropy.

Token convention (used by every figure below): a token stream is the sequence
of visited states, where each word is one token and each line end is one
token: the END state, i.e. the end-of-sequence (eos) token that a word-level
tokenizer plus causal-LM packing inserts between lines/documents. END is also
the start state: the word after an eos is drawn from END's own row.
``entropy_rate`` is therefore the per-token entropy of exactly that stream, and
``best_perplexity = exp(entropy_rate)`` is the lowest perplexity any model can
reach on it (nats, averaged over all tokens including the eos tokens). If a
pipeline adds further deterministic tokens per line (e.g. a ``<bos>`` after
each eos), use :meth:`MarkovChainSource.entropy_rate_with_extra_tokens`.
"""

import bisect

import numpy as np

from keras_llm.datasets._pseudowords import pseudo_words


class MarkovChainSource:
    """Random first-order Markov chain over ``num_states`` pseudo-words + END.

    Each word state moves to ``branching`` distinct successor words (chosen at
    random, self-loops allowed) with Dirichlet(1) random probabilities scaled
    to ``1 - end_probability``, and to END with ``end_probability``. END moves
    to every word with its own Dirichlet(1) distribution (the start-of-line
    distribution) and never to itself, so lines are never empty. The chain is
    irreducible and aperiodic, so its stationary distribution is unique.

    Args:
        num_states: Number of word states (>= 2).
        branching: Successors per word state, ``1 <= branching <= num_states``.
        end_probability: Probability of ending the line after each word, in
            ``(0, 1)``; the mean line length is about ``1 / end_probability``.
        seed: Seed of ``numpy.random.default_rng`` for the vocabulary and the
            transition probabilities.

    Example:
        >>> source = MarkovChainSource(num_states=20, branching=4, seed=0)
        >>> lines = source.sample_lines(3, seed=1)
        >>> all(w in source.vocabulary for line in lines for w in line.split())
        True
        >>> bool(source.best_perplexity < 20)
        True
    """

    def __init__(self, num_states=50, branching=8, end_probability=0.1, seed=0):
        num_states, branching = int(num_states), int(branching)
        end_probability = float(end_probability)
        if num_states < 2:
            raise ValueError(f"num_states must be >= 2, got {num_states}.")
        if not 1 <= branching <= num_states:
            raise ValueError(f"branching must be in [1, {num_states}], got {branching}.")
        if not 0.0 < end_probability < 1.0:
            raise ValueError(f"end_probability must be in (0, 1), got {end_probability}.")
        self.num_states = num_states
        self.branching = branching
        self.end_probability = end_probability
        self.seed = seed
        rng = np.random.default_rng(seed)
        self._vocabulary = pseudo_words(num_states, seed=rng)
        n = num_states
        matrix = np.zeros((n + 1, n + 1), dtype=np.float64)
        for state in range(n):
            successors = rng.choice(n, size=branching, replace=False)
            matrix[state, successors] = rng.dirichlet(np.ones(branching)) * (1.0 - end_probability)
            matrix[state, n] = end_probability
        matrix[n, :n] = rng.dirichlet(np.ones(n))
        matrix /= matrix.sum(axis=1, keepdims=True)
        matrix.setflags(write=False)
        self._matrix = matrix
        # Sparse cumulative rows for fast sampling; last cumulative value is 1.
        self._successors, self._cumulative = [], []
        for row in matrix:
            nonzero = np.flatnonzero(row)
            cumulative = np.cumsum(row[nonzero])
            cumulative[-1] = 1.0
            self._successors.append(nonzero.tolist())
            self._cumulative.append(cumulative.tolist())
        self._stationary = None

    @property
    def vocabulary(self):
        """The pseudo-words; word ``i`` is state ``i`` (END is ``end_index``)."""
        return list(self._vocabulary)

    @property
    def end_index(self):
        """Index of the END (line end / eos) state: ``num_states``."""
        return self.num_states

    @property
    def transition_matrix(self):
        """Read-only ``(num_states + 1, num_states + 1)`` matrix P[from, to]."""
        return self._matrix

    @property
    def stationary_distribution(self):
        """The exact stationary distribution pi (pi P = pi, sum 1), END last.

        Computed by solving the linear system ``(P^T - I) pi = 0`` with one
        equation replaced by the normalisation ``sum(pi) = 1``.
        """
        if self._stationary is None:
            size = self.num_states + 1
            system = self._matrix.T - np.eye(size)
            system[-1, :] = 1.0
            rhs = np.zeros(size)
            rhs[-1] = 1.0
            pi = np.linalg.solve(system, rhs)
            pi = np.clip(pi, 0.0, None)
            pi /= pi.sum()
            pi.setflags(write=False)
            self._stationary = pi
        return self._stationary

    @property
    def entropy_rate(self):
        """Entropy rate in nats per token (words and END/eos tokens alike).

        ``H = -sum_i pi_i sum_j P_ij log P_ij``, with ``0 log 0 = 0``.
        """
        p = self._matrix
        row_entropy = -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=1)
        return float(self.stationary_distribution @ row_entropy)

    @property
    def best_perplexity(self):
        """``exp(entropy_rate)``: the optimal per-token perplexity."""
        return float(np.exp(self.entropy_rate))

    @property
    def mean_line_length(self):
        """Expected number of words per line (excluding the eos token)."""
        return float(1.0 / self.stationary_distribution[-1] - 1.0)

    def entropy_rate_with_extra_tokens(self, extra_tokens_per_line):
        """Per-token entropy when each line carries extra deterministic tokens.

        For example ``extra_tokens_per_line=1`` when a ``<bos>`` follows each
        eos: the information per line is unchanged but spread over more tokens,
        giving ``H / (1 + k * pi_END)``.

        Args:
            extra_tokens_per_line: Number ``k >= 0`` of added tokens per line.
        """
        k = float(extra_tokens_per_line)
        if k < 0:
            raise ValueError(f"extra_tokens_per_line must be >= 0, got {k}.")
        return self.entropy_rate / (1.0 + k * float(self.stationary_distribution[-1]))

    def sample_tokens(self, num_tokens, seed=0):
        """Samples a state sequence, starting right after an END state.

        Args:
            num_tokens: Length of the returned sequence.
            seed: Seed of ``numpy.random.default_rng`` used for sampling.

        Returns:
            An int64 numpy array of state indices; ``end_index`` marks line
            ends. The first token is drawn from END's row (start of a line).

        Example:
            >>> MarkovChainSource(10, 3).sample_tokens(5, seed=0).shape
            (5,)
        """
        num_tokens = int(num_tokens)
        if num_tokens < 0:
            raise ValueError(f"num_tokens must be non-negative, got {num_tokens}.")
        uniforms = np.random.default_rng(seed).random(num_tokens).tolist()
        successors, cumulative = self._successors, self._cumulative
        tokens = [0] * num_tokens
        state = self.end_index
        for t, u in enumerate(uniforms):
            row = successors[state]
            state = row[bisect.bisect_right(cumulative[state], u)]
            tokens[t] = state
        return np.asarray(tokens, dtype=np.int64)

    def sample_lines(self, num_lines, seed=0):
        """Samples lines: the words visited between consecutive END states.

        Args:
            num_lines: Number of lines to return.
            seed: Seed of ``numpy.random.default_rng`` used for sampling.

        Returns:
            A list of non-empty strings of space-separated pseudo-words.

        Example:
            >>> len(MarkovChainSource(10, 3).sample_lines(4, seed=0))
            4
        """
        num_lines = int(num_lines)
        if num_lines < 0:
            raise ValueError(f"num_lines must be non-negative, got {num_lines}.")
        rng = np.random.default_rng(seed)
        successors, cumulative = self._successors, self._cumulative
        end, words = self.end_index, self._vocabulary
        lines, current, state = [], [], end
        while len(lines) < num_lines:
            for u in rng.random(4096).tolist():
                state = successors[state][bisect.bisect_right(cumulative[state], u)]
                if state == end:
                    lines.append(" ".join(current))
                    current = []
                    if len(lines) == num_lines:
                        break
                else:
                    current.append(words[state])
        return lines

    def negative_log_likelihood(self, tokens, previous=None):
        """Mean per-token NLL (nats) of a state sequence under the true chain.

        Args:
            tokens: Sequence of state indices (as from :meth:`sample_tokens`).
            previous: State before ``tokens[0]``; defaults to ``end_index``.

        Returns:
            A float; ``inf`` if a transition has zero probability.
        """
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.size == 0:
            raise ValueError("tokens must be non-empty.")
        start = self.end_index if previous is None else int(previous)
        prev = np.concatenate([[start], tokens[:-1]])
        with np.errstate(divide="ignore"):
            return float(-np.mean(np.log(self._matrix[prev, tokens])))

    def decode(self, tokens, eos_token="\n"):
        """Maps state indices to words, END to ``eos_token``; joined by spaces.

        Example:
            >>> source = MarkovChainSource(10, 3)
            >>> source.decode([0, source.end_index], eos_token="<eos>").split()[1]
            '<eos>'
        """
        words = self._vocabulary
        return " ".join(eos_token if t == self.end_index else words[t] for t in tokens)
