"""Language-model data checks: text statistics (and optional baselines) -> a list of `TextAnomaly`.

Every check compares a figure with a threshold and reports an anomaly when the figure is *above* it
(fractions in [0, 1], lengths in characters):

check            figure (anomaly when above the threshold)                            threshold
---------------  -------------------------------------------------------------------  --------------------------
no_records       the split is empty                                                   -
empty_records    empty or whitespace-only records / records                           max_empty_fraction
invalid_utf8     records that are not valid UTF-8 / records                           max_invalid_utf8_fraction
too_short        non-empty records under `min_characters` chars / non-empty records   max_too_short_fraction
too_long         non-empty records over `max_characters` chars / non-empty records    max_too_long_fraction
duplicates       non-empty records repeating an earlier one / non-empty records       max_duplicate_fraction
unknown_tokens   `<unk>` tokens / tokens, under the given vocabulary                  max_unknown_token_fraction
charset_drift    total variation distance between this split's character shares and   max_charset_drift
                 the baseline's (same split name): 0 = identical, 1 = disjoint
tfdv             anomalies TFX's ExampleValidator found in the split (if given)       -
"""
import dataclasses

from tensorflow_metadata.proto.v0 import anomalies_pb2

from tfx_components.text_data_validator.text_statistics import character_distribution, fraction


@dataclasses.dataclass(frozen=True)
class TextValidationThresholds:
    """Thresholds of the checks (fractions in [0, 1]; lengths in characters)."""

    min_characters: int = 2
    max_characters: int = 100_000
    max_empty_fraction: float = 0.01
    max_invalid_utf8_fraction: float = 0.001
    max_too_short_fraction: float = 0.05
    max_too_long_fraction: float = 0.01
    max_duplicate_fraction: float = 0.05
    max_unknown_token_fraction: float = 0.05
    max_charset_drift: float = 0.1

    @classmethod
    def from_exec_properties(cls, exec_properties):
        """Takes the fields present (and not None) in `exec_properties`; the rest keep their defaults."""
        given = {f.name: f.type(exec_properties[f.name])
                 for f in dataclasses.fields(cls) if exec_properties.get(f.name) is not None}
        return cls(**given)

    def to_dict(self):
        """Field -> value, each cast to its declared type (an int given for a fraction becomes a float)."""
        return {f.name: f.type(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclasses.dataclass(frozen=True)
class TextAnomaly:
    """One failed check: its name, the measured figure, the threshold it exceeded and a sentence for people."""

    check: str
    value: float
    threshold: float
    description: str

    def to_dict(self):
        return dataclasses.asdict(self)


def _percent(value):
    return f"{100 * value:.1f}%"


def _fraction_check(check, part, whole, threshold, what):
    value = fraction(part, whole)
    if value <= threshold:
        return None
    return TextAnomaly(check, value, threshold,
                       f"{part} of {whole} {what} ({_percent(value)}); at most {_percent(threshold)} allowed")


def charset_drift(statistics, baseline_statistics):
    """Total variation distance between two character distributions, and the most frequent new characters."""
    current, baseline = character_distribution(statistics), character_distribution(baseline_statistics)
    distance = 0.5 * sum(abs(current.get(c, 0.0) - baseline.get(c, 0.0)) for c in set(current) | set(baseline))
    new = sorted((c for c in current if c is not None and c not in baseline), key=lambda c: -current[c])
    return distance, new[:10]


def find_anomalies(statistics, thresholds, baseline_statistics=None):
    """Runs the checks on one split's statistics dict (see `TextStatisticsAccumulator.to_dict`)."""
    records, non_empty = statistics["num_records"], statistics["num_non_empty"]
    if records == 0:
        return [TextAnomaly("no_records", 0, 0, "the split holds no records")]
    found = [
        _fraction_check("empty_records", statistics["num_empty"], records, thresholds.max_empty_fraction,
                        "records are empty or whitespace-only"),
        _fraction_check("invalid_utf8", statistics["num_invalid_utf8"], records,
                        thresholds.max_invalid_utf8_fraction, "records are not valid UTF-8"),
        _fraction_check("too_short", statistics["num_too_short"], non_empty, thresholds.max_too_short_fraction,
                        f"non-empty records have fewer than {thresholds.min_characters} characters"),
        _fraction_check("too_long", statistics["num_too_long"], non_empty, thresholds.max_too_long_fraction,
                        f"non-empty records have more than {thresholds.max_characters} characters"),
        _fraction_check("duplicates", statistics.get("num_duplicates", 0), non_empty,
                        thresholds.max_duplicate_fraction, "non-empty records repeat an earlier record"),
    ]
    if statistics.get("vocabulary") and statistics["num_tokens"]:
        found.append(_fraction_check(
            "unknown_tokens", statistics["num_unknown_tokens"], statistics["num_tokens"],
            thresholds.max_unknown_token_fraction, f"tokens are <unk> under the vocabulary {statistics['vocabulary']}"))
    if baseline_statistics is not None and non_empty:
        distance, new_characters = charset_drift(statistics, baseline_statistics)
        if distance > thresholds.max_charset_drift:
            examples = " ".join(repr(c) for c in new_characters) or "none"
            found.append(TextAnomaly(
                "charset_drift", distance, thresholds.max_charset_drift,
                f"the character distribution moved {distance:.3f} (total variation distance) from the baseline; "
                f"at most {thresholds.max_charset_drift:.3f} allowed; most frequent new characters: {examples}"))
    return [anomaly for anomaly in found if anomaly is not None]


def tfdv_anomalies(anomalies_proto):
    """TFX ExampleValidator's `Anomalies` proto of one split -> `TextAnomaly`s (check `tfdv`)."""
    found = []
    for feature, info in sorted(anomalies_proto.anomaly_info.items()):
        found.append(TextAnomaly("tfdv", 1, 0, f"TFX ExampleValidator, feature {feature!r}: "
                                               f"{info.short_description or info.description}"))
    if anomalies_proto.HasField("dataset_anomaly_info"):
        info = anomalies_proto.dataset_anomaly_info
        found.append(TextAnomaly("tfdv", 1, 0, f"TFX ExampleValidator, dataset: "
                                               f"{info.short_description or info.description}"))
    if anomalies_proto.data_missing:
        found.append(TextAnomaly("tfdv", 1, 0, "TFX ExampleValidator: data missing"))
    return found


def to_anomalies_proto(anomalies, feature):
    """`TextAnomaly`s -> TFDV's `Anomalies` proto (one ERROR entry for the text feature), as TFDV tools read it."""
    proto = anomalies_pb2.Anomalies()
    if not anomalies:
        return proto
    info = proto.anomaly_info[feature]
    info.severity = anomalies_pb2.AnomalyInfo.ERROR
    info.short_description = ", ".join(sorted({a.check for a in anomalies}))
    info.description = " ".join(f"{a.check}: {a.description}." for a in anomalies)
    for anomaly in anomalies:
        info.reason.add(type=anomalies_pb2.AnomalyInfo.CUSTOM_VALIDATION, short_description=anomaly.check,
                        description=anomaly.description)
    return proto


def summary_text(anomalies_by_split, records_by_split):
    """The human-readable report written to `summary.txt` (and logged)."""
    bad = [split for split, anomalies in anomalies_by_split.items() if anomalies]
    lines = [f"TextDataValidator: ANOMALIES in split(s) {', '.join(bad)}; components gated on this result do not run."
             if bad else "TextDataValidator: no anomalies."]
    for split, anomalies in anomalies_by_split.items():
        lines.append(f"[{split}] {records_by_split.get(split, 0)} records: "
                     + (f"{len(anomalies)} anomal{'y' if len(anomalies) == 1 else 'ies'}" if anomalies else "ok"))
        lines.extend(f"  - {a.check}: {a.description}" for a in anomalies)
    return "\n".join(lines) + "\n"
