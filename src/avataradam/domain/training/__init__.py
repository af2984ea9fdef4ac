"""The training loop (issue 17): scenarios a trainee practises, the rubrics a roleplay
session is scored against, the scorers and the scorecard a trainee reads."""

from typing import Final

FI_OFFICE_RUBRIC_ID: Final = "fi-office"
"""The built-in rubric of the F&I office (menu presentation, objection handling,
compliance blockers) that the built-in scenarios are scored against."""
