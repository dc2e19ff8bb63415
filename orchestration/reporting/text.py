"""Words on the fact sheets, in Danish (default) and English: titles and how to read each chart."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "da": {
        "title": "Faktablad",
        "barometer": "Barometer",
        "subtitle": "Effektstyring: målopfyldelse og funktionsevne, {quarter}",
        "administration": "Hele forvaltningen",
        "area": "Driftsområde",
        "unit_provider": "Leverandør",
        "unit_authority": "Myndighed",
        "published": "Bygger på publiceret version {version}, leverance(r) {deliveries}.",
        "year": "Seneste 4 kvartaler ({label})",
        "quarter": "Kvartal {label}",
        "avg": "Gns. målopf.",
        "n": "N (unikke borgere)",
        "change": "Ændring",
        "theme": "Livstema / delmål",
        "all": "I alt",
        "suppressed": "<5",
        "withheld": "\u2013",
        "withheld_note": (
            "\u201c\u2013\u201d er et tal, der er skjult, for at et \u201c<5\u201d ikke kan regnes "
            "ud fra tallene omkring det."
        ),
        "goal_attainment": "Gennemsnitlig målopfyldelse pr. livstema",
        "goal_attainment_note": (
            "Søjlen er den gennemsnitlige andel af borgernes mål, der er nået (GAS 0 eller mere), "
            "for de seneste fire kvartaler. \u201c<5\u201d betyder, at færre end fem borgere indgår, "
            "så tallet vises ikke."
        ),
        "table_note": (
            "Ændring er mod den foregående periode: kvartalet før og de fire kvartaler før. "
            "Procentpoint."
        ),
        "goal_types": "Nåede og ikke-nåede mål pr. måltype",
        "goal_types_note": (
            "Hver søjle er mål af én type, fulgt op i de seneste fire kvartaler: grøn er nået, "
            "grå er ikke nået."
        ),
        "achieved": "Nået",
        "not_achieved": "Ikke nået",
        "timeseries": "Målopfyldelse over tid pr. livstema",
        "timeseries_note": (
            "Hvert punkt er et kvartal. Den stiplede linje er databruddet i maj 2017, da VUM2 "
            "afløste VUM2008: tal på tværs af den skal læses med forsigtighed. Huller er kvartaler "
            "med færre end fem borgere."
        ),
        "data_break": "Databrud (VUM2, maj 2017)",
        "functional": "Ændring i funktionsevne pr. tema",
        "functional_note": (
            "Andelen af borgere, hvis behov for støtte er faldet (forbedret), uændret eller steget "
            "(forværret) mellem to udredninger, seneste fire kvartaler. VUM for voksne, "
            "dialogredskabet for børn. \u201cAlle 7 temaer\u201d samler VUM's syv temaer "
            "(dialogredskabets fem) på begge sider af databruddet; VUM2008's samlede vurdering er "
            "en helhedsvurdering, ikke et tema, og vises for sig."
        ),
        "all_themes": "alle {n} temaer",
        "functional_timeseries": "Forbedret funktionsevne over tid",
        "functional_timeseries_note": (
            "Andelen af borgernes sammenligninger pr. tema, der viser forbedret funktionsevne, "
            "kvartal for kvartal over alle temaer. Den stiplede linje er databruddet i maj 2017: "
            "VUM2's delemner er omregnet til VUM2008's syv temaer, så linjen samler de samme "
            "temaer på begge sider. Den prikkede linje er VUM2008's samlede vurdering, som VUM2 "
            "ikke har. Huller er kvartaler uden tal eller med et skjult tal (færre end fem "
            "borgere, eller skjult for at beskytte et andet tal)."
        ),
        "improved": "Forbedret",
        "unchanged": "Uændret",
        "worsened": "Forværret",
        "key_figures": "Nøgletal",
        "key_figures_note": "Nøgletal for kvartalet. Myndighedstal (sager) vises for myndigheder.",
        "economy": "Økonomi",
        "economy_note": (
            "Budget og forbrug for året: forbruget er udbetalingerne for årets dage (fordelt pr. "
            "dag), og det forventede årsresultat er regnet på to måder: efter de aktive "
            "bevillingers takster til årets udgang, og efter forbrugstakten hidtil. Afvigelse = "
            "budget minus forventet; positiv er under budget."
        ),
        "no_cost_data": "Ingen økonomidata: leverancen har ikke bevillinger, udbetalinger og budgetter.",
        "budget": "Budget",
        "spent_to_date": "Forbrug til {date}",
        "consumption": "Forbrugt af budgettet",
        "expected_by_grants": "Forventet årsresultat (bevillinger)",
        "expected_by_run_rate": "Forventet årsresultat (forbrugstakt)",
        "deviation_by_grants": "Afvigelse (bevillinger)",
        "deviation_by_run_rate": "Afvigelse (forbrugstakt)",
        "unit_prices": "Enhedspriser over tid",
        "unit_prices_note": (
            "Pris pr. indsatsdøgn (forbrug delt med de dage, udbetalingerne dækker, pr. indsats) "
            "kvartal for kvartal, i alt og pr. indsatstype. Huller er kvartaler uden tal eller "
            "med et skjult tal."
        ),
        "spending_by_type": "Forbrug pr. indsatstype",
        "spending_by_type_note": "Forbrug og pris pr. borger for de seneste fire kvartaler.",
        "forecast": "Prognose for de næste to kvartaler",
        "forecast_note": (
            "Prognosen laves ved hvert kvartals udgang for de to kvartaler efter: efter de "
            "bevillinger, der er i kraft den dag, til deres takster (ophør og nye bevillinger "
            "forudses ikke), og efter forbrugstakten (kvartalets forbrug fortsat). Når de to "
            "kvartaler er gået, står forbruget ved siden af, og fejlen er prognose minus "
            "forbrug i procent af forbruget: sådan har prognosen ramt før."
        ),
        "forecast_origin": "Lavet ved udgangen af",
        "forecast_horizon": "For",
        "by_grants": "Efter bevillinger",
        "by_run_rate": "Efter forbrugstakt",
        "actual": "Forbrug",
        "error_by_grants": "Fejl (bevillinger)",
        "error_by_run_rate": "Fejl (forbrugstakt)",
        "not_yet": "endnu ikke",
        "cost_effect": "Pris ved siden af effekt",
        "cost_effect_note": (
            "For de seneste fire kvartaler, pr. indsatstype: pris pr. borger, den gennemsnitlige "
            "målopfyldelse for borgernes mål i indsatserne og forbruget pr. opnået mål, andelen "
            "af de vurderede borgere med forbedret funktionsevne og forbruget pr. forbedret "
            "borger (hele forbruget delt med dem, der blev forbedret). Mål- og funktionsevnetal "
            "skjules for sig, når de handler om 1-4 borgere."
        ),
        "avg_goal_attainment_pct": "Målopfyldelse",
        "spending_per_achieved_goal_dkk": "Forbrug pr. opnået mål",
        "pct_citizens_improved": "Forbedret funktionsevne",
        "spending_per_improved_citizen_dkk": "Forbrug pr. forbedret borger",
        "spending": "Forbrug",
        "cost_per_citizen": "Pris pr. borger",
        "cost_per_day": "Pris pr. indsatsdøgn",
        "all_types": "Alle indsatser",
        "figure": "Nøgletal",
        "value": "Værdi",
        "data_quality": "Datakvalitet",
        "data_quality_note": (
            "Hvor meget af leverancen der blev sat i karantæne ved indlæsning, og hvor mange "
            "mål der manglede en rettidig opfølgning. Lave tal er gode."
        ),
        "pct_rows_quarantined": "Rækker i karantæne (%)",
        "pct_goals_without_due_followup": "Mål uden rettidig opfølgning (%)",
        "rows_loaded": "Rækker indlæst",
        "barometer_note": (
            "Grøn: målet er nået. Gul: tæt på. Rød: under. Grå: intet tal eller for få borgere. "
            "Mål fastsættes i targets.yaml. Pris pr. borger og pr. indsatsdøgn er for de seneste "
            "fire kvartaler, uden mål: de står ved siden af effekten, ikke som en dom."
        ),
        "cost_per_citizen_dkk": "Pris pr. borger (kr.)",
        "cost_per_intervention_day_dkk": "Pris pr. indsatsdøgn (kr.)",
        "unit": "Enhed",
        "level": "Niveau",
        "followups_on_time_pct": "Rettidig opfølgning",
        "improved_pct": "Forbedret funktionsevne",
        "goal_attainment_pct": "Målopfyldelse",
        "goals_without_followup_pct": "Mål uden opfølgning",
        "too_few": "for få borgere til et faktablad",
        "back": "Til barometeret",
        "no_data": "Ingen tal for denne periode.",
    },
    "en": {
        "title": "Fact sheet",
        "barometer": "Barometer",
        "subtitle": "Effect management: goal attainment and functional ability, {quarter}",
        "administration": "Whole administration",
        "area": "Operating area",
        "unit_provider": "Provider",
        "unit_authority": "Authority",
        "published": "From published version {version}, delivery(ies) {deliveries}.",
        "year": "Last 4 quarters ({label})",
        "quarter": "Quarter {label}",
        "avg": "Avg. attainment",
        "n": "N (unique citizens)",
        "change": "Change",
        "theme": "Life theme / sub-theme",
        "all": "Total",
        "suppressed": "<5",
        "withheld": "\u2013",
        "withheld_note": (
            "\u201c\u2013\u201d is a figure withheld so that a \u201c<5\u201d cannot be worked out "
            "from the figures around it."
        ),
        "goal_attainment": "Average goal attainment per life theme",
        "goal_attainment_note": (
            "The bar is the average share of citizens' goals achieved (GAS 0 or more) over the "
            "last four quarters. \u201c<5\u201d means fewer than five citizens, so no figure is shown."
        ),
        "table_note": (
            "Change is against the previous period: the quarter before and the four quarters "
            "before. Percentage points."
        ),
        "goal_types": "Achieved and not achieved goals by goal type",
        "goal_types_note": (
            "Each bar is the goals of one type followed up in the last four quarters: green "
            "achieved, grey not achieved."
        ),
        "achieved": "Achieved",
        "not_achieved": "Not achieved",
        "timeseries": "Goal attainment over time per life theme",
        "timeseries_note": (
            "Each point is a quarter. The dashed line is the May 2017 data break, when VUM2 "
            "replaced VUM2008: read figures across it with care. Gaps are quarters with fewer "
            "than five citizens."
        ),
        "data_break": "Data break (VUM2, May 2017)",
        "functional": "Change in functional ability per theme",
        "functional_note": (
            "The share of citizens whose need for support fell (improved), stayed (unchanged) or "
            "rose (worsened) between two assessments, last four quarters. VUM for adults, the "
            "dialogue ruler for children. \u201cAll 7 themes\u201d pools VUM's seven themes (the "
            "dialogue ruler's five) on both sides of the data break; VUM2008's overall assessment "
            "is a judgement, not a theme, and is shown on its own."
        ),
        "all_themes": "all {n} themes",
        "functional_timeseries": "Improved functional ability over time",
        "functional_timeseries_note": (
            "The share of citizens' theme comparisons that show improved functional ability, "
            "quarter by quarter over all themes. The dashed line is the May 2017 data break: "
            "VUM2's sub-themes are mapped onto VUM2008's seven themes, so the line pools the same "
            "themes on both sides. The dotted line is VUM2008's overall assessment, which VUM2 "
            "does not have. Gaps are quarters with no figure or a withheld one (fewer than five "
            "citizens, or withheld to protect another)."
        ),
        "improved": "Improved",
        "unchanged": "Unchanged",
        "worsened": "Worsened",
        "key_figures": "Key figures",
        "key_figures_note": "Key figures for the quarter. Case figures are shown for authorities.",
        "economy": "Economy",
        "economy_note": (
            "Budget and spending for the year: spending is the payments for the year's days "
            "(spread per day), and the expected year-end result is computed two ways: by the "
            "active grants' rates to the year's end, and by the run-rate so far. Deviation = "
            "budget minus expected; positive is under budget."
        ),
        "no_cost_data": "No cost data: the delivery holds no grants, payments or budgets.",
        "budget": "Budget",
        "spent_to_date": "Spent to {date}",
        "consumption": "Share of budget spent",
        "expected_by_grants": "Expected year-end (grants)",
        "expected_by_run_rate": "Expected year-end (run-rate)",
        "deviation_by_grants": "Deviation (grants)",
        "deviation_by_run_rate": "Deviation (run-rate)",
        "unit_prices": "Unit prices over time",
        "unit_prices_note": (
            "Cost per intervention-day (spending over the days the payments cover, per "
            "intervention) quarter by quarter, in all and per intervention type. Gaps are "
            "quarters without a figure or with a withheld one."
        ),
        "spending_by_type": "Spending per intervention type",
        "spending_by_type_note": "Spending and cost per citizen for the last four quarters.",
        "forecast": "Forecast for the next two quarters",
        "forecast_note": (
            "Made at each quarter's end for the two quarters after it: by the grants in force "
            "that day at their rates (ends and new grants are not foreseen), and by the run-rate "
            "(the quarter's spending continued). Once the two quarters are over, the spending "
            "stands beside it, and the error is forecast minus spending in percent of the "
            "spending: how the forecast has hit before."
        ),
        "forecast_origin": "Made at the end of",
        "forecast_horizon": "For",
        "by_grants": "By grants",
        "by_run_rate": "By run-rate",
        "actual": "Spent",
        "error_by_grants": "Error (grants)",
        "error_by_run_rate": "Error (run-rate)",
        "not_yet": "not yet",
        "cost_effect": "Cost next to effect",
        "cost_effect_note": (
            "For the last four quarters, per intervention type: cost per citizen, the average "
            "attainment of the citizens' goals in those interventions and the spending per goal "
            "achieved, the share of assessed citizens whose functional ability improved and the "
            "spending per citizen improved (all spending over those who improved). Goal and "
            "ability figures are withheld on their own when they are about 1-4 citizens."
        ),
        "avg_goal_attainment_pct": "Goal attainment",
        "spending_per_achieved_goal_dkk": "Spending per goal achieved",
        "pct_citizens_improved": "Improved functional ability",
        "spending_per_improved_citizen_dkk": "Spending per citizen improved",
        "spending": "Spending",
        "cost_per_citizen": "Cost per citizen",
        "cost_per_day": "Cost per intervention-day",
        "all_types": "All interventions",
        "figure": "Figure",
        "value": "Value",
        "data_quality": "Data quality",
        "data_quality_note": (
            "How much of the delivery the ingest quarantined, and how many goals lacked a timely "
            "follow-up. Low is good."
        ),
        "pct_rows_quarantined": "Rows quarantined (%)",
        "pct_goals_without_due_followup": "Goals without timely follow-up (%)",
        "rows_loaded": "Rows loaded",
        "barometer_note": (
            "Green: target met. Amber: close. Red: below. Grey: no figure or too few citizens. "
            "Targets are set in targets.yaml. Cost per citizen and per intervention-day are for "
            "the last four quarters, without targets: they stand beside the effect, not as a verdict."
        ),
        "cost_per_citizen_dkk": "Cost per citizen (DKK)",
        "cost_per_intervention_day_dkk": "Cost per intervention-day (DKK)",
        "unit": "Unit",
        "level": "Level",
        "followups_on_time_pct": "Timely follow-up",
        "improved_pct": "Improved functional ability",
        "goal_attainment_pct": "Goal attainment",
        "goals_without_followup_pct": "Goals without follow-up",
        "too_few": "too few citizens for a fact sheet",
        "back": "Back to the barometer",
        "no_data": "No figures for this period.",
    },
}
LANGUAGES = tuple(TEXT)

# Every section with figures says what "–" for a withheld figure means.
for _text in TEXT.values():
    for _note in ("goal_attainment_note", "table_note", "goal_types_note", "timeseries_note",
                  "functional_note", "key_figures_note", "data_quality_note", "economy_note",
                  "unit_prices_note", "spending_by_type_note", "cost_effect_note", "forecast_note"):  # fmt: skip
        _text[_note] = f"{_text[_note]} {_text['withheld_note']}"
