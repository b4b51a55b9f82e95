"""A plugin that adds two case types to the catalogue."""

from casekit import CaseKit, CaseType, hookimpl


class ColdChainCaseTypes:
    """Case types for a deployment that ships refrigerated goods."""

    @hookimpl
    def casekit_add_case_types(self) -> list[CaseType]:
        return [
            CaseType("temperature_excursion", "Temperature Excursion"),
            CaseType("lost", "Missing"),  # taken: the built-in label "Lost" stays
        ]


kit = CaseKit(database_url="sqlite://", plugins=[ColdChainCaseTypes()])
assert kit.case_types["temperature_excursion"].label == "Temperature Excursion"
assert kit.case_types["lost"].label == "Lost"
print(len(kit.case_types), "case types")
