"""The public page's words, in English and Welsh (Welsh public bodies publish bilingually), and
the routes for complaints and data requests by controller profile. Installation settings
(`public_*` in config/governance.py) fill in who runs it and how to reach them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from openlfr.web import present

EN: dict[str, str] = {
    "lang_name": "English",
    "title": "Live facial recognition: information for the public",
    "who": "Who runs it",
    "who_body": "Live facial recognition here is run by {controller}. Contact: {contact}.",
    "what": "What live facial recognition is",
    "what_body": (
        "Cameras at a signed place compare the faces of people walking past with a short list "
        "(a watchlist) of people {controller} is looking for, such as people wanted by the "
        "courts or missing people at risk. A senior officer authorises each deployment, and a "
        "second one checks the list."
    ),
    "image": "What happens to your image",
    "image_body": (
        "If you are not on the watchlist, your face is compared in a fraction of a second and "
        "then discarded: no picture of you and no measurement of your face is kept. Only the "
        "number of faces checked is counted. If the system suggests you look like someone on "
        "the list, an officer compares the two pictures before anything happens; a suggestion "
        "is not an identification. Pictures of people who are stopped are kept only as long as "
        "the law allows, then deleted."
    ),
    "where": "Where and when",
    "place": "Where",
    "planned": "Planned",
    "ran": "Ran",
    "purpose": "Why",
    "results": "Results",
    "notice": "Announced",
    "not_in_advance": "not announced in advance (an exception recorded by the authorising officer)",
    "not_started": "not started yet",
    "running": "running now",
    "results_later": "Results are published here after it ends.",
    "results_body": (
        "{faces} faces were checked. The system raised {alerts} alerts: officers confirmed "
        "{true} as the right person and found {false} to be the wrong person"
        "{unresolved}. Officers spoke to {engagements} people; {arrests} were arrested."
    ),
    "unresolved": ", and {n} were not resolved",
    "complain": "How to complain",
    "data": "How to ask for your data",
    "data_body": (
        "You can ask whether any image of you from a deployment is held, and ask for it to be "
        "deleted. {data_requests} Give the date, time and place. Because images of people not "
        "on the watchlist are never kept, there is usually nothing to find, and you will be "
        "told so."
    ),
    "figures": "Full figures",
    "nothing": "Nothing published yet.",
    "downloads": "Download the figures",
}

CY: dict[str, str] = {
    "lang_name": "Cymraeg",
    "title": "Adnabod wynebau byw: gwybodaeth i'r cyhoedd",
    "who": "Pwy sy'n ei redeg",
    "who_body": "{controller} sy'n rhedeg adnabod wynebau byw yma. Cysylltu: {contact}.",
    "what": "Beth yw adnabod wynebau byw",
    "what_body": (
        "Mae camerâu mewn man ag arwyddion yn cymharu wynebau pobl sy'n cerdded heibio â "
        "rhestr fer (rhestr wylio) o bobl y mae {controller} yn chwilio amdanynt, fel pobl y "
        "mae'r llysoedd eu heisiau neu bobl sydd ar goll ac mewn perygl. Mae uwch swyddog yn "
        "awdurdodi pob defnydd, ac mae ail swyddog yn gwirio'r rhestr."
    ),
    "image": "Beth sy'n digwydd i'ch delwedd",
    "image_body": (
        "Os nad ydych ar y rhestr wylio, caiff eich wyneb ei gymharu mewn eiliad a'i daflu: "
        "ni chedwir unrhyw lun ohonoch nac unrhyw fesuriad o'ch wyneb. Dim ond nifer yr "
        "wynebau a wiriwyd sy'n cael ei gyfrif. Os yw'r system yn awgrymu eich bod yn debyg i "
        "rywun ar y rhestr, mae swyddog yn cymharu'r ddau lun cyn i ddim ddigwydd; nid yw "
        "awgrym yn adnabyddiaeth. Cedwir lluniau o bobl a gaiff eu stopio dim ond cyhyd ag y "
        "mae'r gyfraith yn ei ganiatáu, ac yna cânt eu dileu."
    ),
    "where": "Ble a phryd",
    "place": "Ble",
    "planned": "Wedi'i gynllunio",
    "ran": "Wedi rhedeg",
    "purpose": "Pam",
    "results": "Canlyniadau",
    "notice": "Cyhoeddwyd",
    "not_in_advance": "heb ei gyhoeddi ymlaen llaw (eithriad a gofnodwyd gan y swyddog awdurdodi)",
    "not_started": "heb ddechrau eto",
    "running": "yn rhedeg nawr",
    "results_later": "Caiff y canlyniadau eu cyhoeddi yma ar ôl iddo ddod i ben.",
    "results_body": (
        "Cafodd {faces} o wynebau eu gwirio. Cododd y system {alerts} o rybuddion: cadarnhaodd "
        "swyddogion mai {true} oedd y person cywir a bod {false} yn anghywir{unresolved}. "
        "Siaradodd swyddogion â {engagements} o bobl; arestiwyd {arrests}."
    ),
    "unresolved": ", ac ni chafodd {n} eu datrys",
    "complain": "Sut i gwyno",
    "data": "Sut i ofyn am eich data",
    "data_body": (
        "Gallwch ofyn a oes unrhyw ddelwedd ohonoch o ddefnydd yn cael ei chadw, a gofyn iddi "
        "gael ei dileu. {data_requests} Rhowch y dyddiad, yr amser a'r lle. Gan na chedwir "
        "delweddau o bobl nad ydynt ar y rhestr wylio, fel arfer nid oes dim i'w ganfod, a "
        "byddwch yn cael gwybod hynny."
    ),
    "figures": "Y ffigurau llawn",
    "nothing": "Dim wedi'i gyhoeddi eto.",
    "downloads": "Lawrlwytho'r ffigurau",
}

# Values and figure names on the public page in Welsh; anything missing falls back to English.
CY_WORDS: dict[str, str] = {
    "locate_wanted_persons": "Dod o hyd i bobl y mae'r llysoedd neu'r heddlu eu heisiau",
    "locate_suspects_serious_offence": "Dod o hyd i bobl a amheuir o drosedd ddifrifol",
    "enforce_bail_or_court_conditions": "Gorfodi amodau mechnïaeth neu lys",
    "locate_missing_or_vulnerable": "Dod o hyd i bobl sydd ar goll neu'n agored i niwed",
    "prevent_risk_of_harm": "Atal risg o niwed",
    "wanted_by_courts_or_police": "Yn eisiau gan y llysoedd neu'r heddlu",
    "suspected_of_offence": "Dan amheuaeth o drosedd",
    "bail_or_court_conditions": "Ar fechnïaeth neu amodau llys",
    "missing_or_vulnerable": "Ar goll neu'n agored i niwed",
    "risk_of_harm_to_self_or_others": "Mewn perygl o niweidio eu hunain neu eraill",
    "authorised": "Wedi'i awdurdodi",
    "live": "Yn fyw",
    "ended": "Wedi dod i ben",
    "cancelled": "Wedi'i ganslo",
    "camera_count": "nifer y camerâu",
    "watchlist_size": "maint y rhestr wylio",
    "model_version": "fersiwn y model",
    "threshold": "trothwy",
    "faces_processed": "wynebau a wiriwyd",
    "alerts": "rhybuddion",
    "true_alerts": "rhybuddion cywir",
    "false_alerts": "rhybuddion anghywir",
    "unresolved_alerts": "rhybuddion heb eu datrys",
    "engagements": "pobl y siaradodd swyddogion â nhw",
    "arrests": "arestiadau",
    "deployments": "defnyddiau",
    "walkby_runs": "profion cerdded heibio",
    "walkby_runs_below_level": "profion cerdded heibio islaw'r lefel",
    "monitor_pauses": "seibiannau'r monitor rhybuddion anghywir",
    "summary": "Crynodeb ar gyfer {year}",
    "summary_caption": "Pob defnydd a ddechreuodd yn {year}",
}
EN_WORDS = {
    "summary": "Summary for {year}",
    "summary_caption": "All deployments started in {year}",
}
CY_DAYS = ("Llun", "Maw", "Mer", "Iau", "Gwe", "Sad", "Sul")
CY_MONTHS = (
    "Ion",
    "Chwef",
    "Maw",
    "Ebr",
    "Mai",
    "Meh",
    "Gorff",
    "Awst",
    "Medi",
    "Hyd",
    "Tach",
    "Rhag",
)

# Where to complain beyond the controller itself, by controller profile.
COMPLAINTS: dict[str, dict[str, str]] = {
    "police_uk": {
        "en": (
            "Contact {controller} first ({contact}). If you are not satisfied, complain about "
            "police conduct to the Independent Office for Police Conduct (policeconduct.gov.uk), "
            "or about how your data was used to the Information Commissioner's Office "
            "(ico.org.uk, 0303 123 1113)."
        ),
        "cy": (
            "Cysylltwch â {controller} yn gyntaf ({contact}). Os nad ydych yn fodlon, cwynwch am "
            "ymddygiad yr heddlu i Swyddfa Annibynnol Ymddygiad yr Heddlu "
            "(policeconduct.gov.uk), neu am y ffordd y defnyddiwyd eich data i Swyddfa'r "
            "Comisiynydd Gwybodaeth (ico.org.uk, 0303 123 1113)."
        ),
    },
    "private_venue_uk": {
        "en": (
            "Contact {controller} first ({contact}). If you are not satisfied, complain to the "
            "Information Commissioner's Office (ico.org.uk, 0303 123 1113)."
        ),
        "cy": (
            "Cysylltwch â {controller} yn gyntaf ({contact}). Os nad ydych yn fodlon, cwynwch i "
            "Swyddfa'r Comisiynydd Gwybodaeth (ico.org.uk, 0303 123 1113)."
        ),
    },
    "eu_law_enforcement": {
        "en": (
            "Contact {controller} first ({contact}). You can also complain to your national "
            "data protection authority."
        ),
    },
    "us_illinois_bipa": {
        "en": (
            "Contact {controller} first ({contact}). The Biometric Information Privacy Act "
            "(740 ILCS 14) gives you rights over your biometric data; you can also contact the "
            "Illinois Attorney General's office."
        ),
    },
}

DATA_REQUESTS = {
    "en": "Write to {controller} ({contact}).",
    "cy": "Ysgrifennwch at {controller} ({contact}).",
}
DEFAULT_CONTROLLER = {"en": "the operator of this system", "cy": "gweithredwr y system hon"}
DEFAULT_CONTACT = {"en": "see the signs on site", "cy": "gweler yr arwyddion ar y safle"}


@dataclass(frozen=True, slots=True)
class PublicText:
    lang: str
    languages: list[str]
    t: dict[str, str]
    controller: str
    contact: str
    complaints: str
    data_requests: str

    def word(self, value: Any, **fill: Any) -> str:
        """A value or figure name in the page's language (labels, in English)."""
        v = str(value)
        if self.lang == "cy" and v in CY_WORDS:
            return CY_WORDS[v].format(**fill)
        if v in EN_WORDS:
            return EN_WORDS[v].format(**fill)
        return present.label(v) if v in present.LABELS else v.replace("_", " ")

    def when(self, value: Any, zone: str) -> str:
        """A local time with the day and month in the page's language."""
        text = present.when(value, zone)
        dt = present.parse_time(value)
        if self.lang != "cy" or dt is None:
            return text
        local = dt.astimezone(present.ZoneInfo(zone))
        return (
            f"{CY_DAYS[local.weekday()]} {local.day} {CY_MONTHS[local.month - 1]} {local.year}, "
            f"{local:%H:%M %Z}"
        )

    def results(self, record: dict[str, Any]) -> str:
        """A deployment's results in a sentence."""
        n = int(record.get("unresolved_alerts") or 0)
        return self.t["results_body"].format(
            faces=record["faces_processed"],
            alerts=record["alerts"],
            true=record["true_alerts"],
            false=record["false_alerts"],
            unresolved=self.t["unresolved"].format(n=n) if n else "",
            engagements=record["engagements"],
            arrests=record["arrests"],
        )


def public_text(settings: Any, profile: str, lang: str | None) -> PublicText:
    """The page's words in `lang` (when the installation publishes in it), filled in from the
    `public_*` settings or the profile's defaults."""
    languages = [str(x) for x in getattr(settings, "public_languages", None) or ["en"]]
    chosen: str = lang if lang is not None and lang in languages else languages[0]
    t = CY if chosen == "cy" else EN
    controller = settings.public_controller or DEFAULT_CONTROLLER[chosen]
    contact = settings.public_contact or DEFAULT_CONTACT[chosen]
    routes = COMPLAINTS.get(profile, COMPLAINTS["police_uk"])
    complaints = settings.public_complaints or routes.get(chosen, routes["en"])
    data = settings.public_data_requests or DATA_REQUESTS[chosen]
    fill = {"controller": controller, "contact": contact}
    return PublicText(
        chosen,
        languages,
        t,
        controller,
        contact,
        complaints.format(**fill),
        data.format(**fill),
    )
