"""The reason codes a patient can choose, and what each one implies for the practice."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReasonCode(StrEnum):
    back_pain = "back_pain"
    neck_pain = "neck_pain"
    sciatica = "sciatica"
    mood_related_pain = "mood_related_pain"
    post_surgery_follow_up = "post_surgery_follow_up"
    second_opinion = "second_opinion"
    other = "other"


@dataclass(frozen=True, slots=True)
class ReasonInfo:
    code: ReasonCode
    label: str
    description: str
    default_duration_minutes: int


REASONS: dict[ReasonCode, ReasonInfo] = {
    info.code: info
    for info in (
        ReasonInfo(
            ReasonCode.back_pain, "Back pain", "Pain in the lower, middle or upper back.", 30
        ),
        ReasonInfo(
            ReasonCode.neck_pain,
            "Neck pain",
            "Pain or stiffness in the neck, possibly into the shoulders.",
            30,
        ),
        ReasonInfo(
            ReasonCode.sciatica,
            "Sciatica / leg pain",
            "Pain that runs from the back into a leg.",
            45,
        ),
        ReasonInfo(
            ReasonCode.mood_related_pain,
            "Pain together with depression, anxiety or stress",
            "Back or neck pain that comes together with low mood, anxiety or stress.",
            60,
        ),
        ReasonInfo(
            ReasonCode.post_surgery_follow_up,
            "Follow-up after spine surgery",
            "A check after an operation on the spine.",
            30,
        ),
        ReasonInfo(
            ReasonCode.second_opinion,
            "Second opinion",
            "A second view on a diagnosis or a proposed treatment.",
            60,
        ),
        ReasonInfo(
            ReasonCode.other,
            "Something else",
            "Anything else; please describe it in a few words.",
            30,
        ),
    )
}


class UrgentSymptom(StrEnum):
    """Red-flag symptoms: any one of them means the patient should not wait for a call back."""

    bladder_or_bowel_changes = "bladder_or_bowel_changes"
    saddle_numbness = "saddle_numbness"
    worsening_leg_weakness = "worsening_leg_weakness"
    fever_with_back_pain = "fever_with_back_pain"
    recent_trauma = "recent_trauma"
