"""Names for mobile networks: a small built-in table of common operators by MCC/MNC,
and the country of every listed mobile country code (MCC).

The network reports where a card is attached as 3GPP-SGSN-MCC-MNC: three digits of
country code and two or three of network code ("23415", "310260"). Networks not in
the table are shown by their code; countries come out in the reader's language.
"""

import re
from dataclasses import dataclass

from babel import Locale, UnknownLocaleError
from django.utils import translation

# Operator brand names, as customers know them.
OPERATORS: dict[str, str] = {
    # North America
    "310260": "T-Mobile", "310410": "AT&T", "311480": "Verizon", "310120": "T-Mobile",
    "302220": "Telus", "302610": "Bell", "302720": "Rogers", "334020": "Telcel",
    # Europe
    "23410": "O2", "23415": "Vodafone", "23420": "Three", "23430": "EE", "23433": "EE",
    "26201": "Telekom", "26202": "Vodafone", "26203": "O2",
    "20801": "Orange", "20810": "SFR", "20815": "Free", "20820": "Bouygues Telecom",
    "22201": "TIM", "22210": "Vodafone", "22288": "WindTre", "22299": "WindTre",
    "21401": "Vodafone", "21403": "Orange", "21407": "Movistar",
    "20404": "Vodafone", "20408": "KPN", "20416": "Odido",
    "20601": "Proximus", "20610": "Orange", "22801": "Swisscom", "22802": "Sunrise",
    "23201": "A1", "23203": "Magenta", "24001": "Telia", "24007": "Tele2",
    "24201": "Telenor", "24202": "Telia", "23801": "TDC", "24405": "Elisa",
    "26001": "Plus", "26002": "T-Mobile", "26003": "Orange", "26801": "Vodafone",
    "26806": "MEO", "27201": "Vodafone", "27205": "Three", "20201": "Cosmote",
    "28601": "Turkcell", "28602": "Vodafone", "28603": "Türk Telekom",
    "25001": "MTS", "25002": "MegaFon", "25099": "Beeline",
    # Asia and Oceania
    "46000": "China Mobile", "46001": "China Unicom", "46011": "China Telecom",
    "45400": "CSL", "45406": "SmarTone", "45412": "China Mobile Hong Kong",
    "46692": "Chunghwa Telecom", "46697": "Taiwan Mobile",
    "44010": "NTT docomo", "44020": "SoftBank", "44050": "au",
    "45005": "SK Telecom", "45006": "LG U+", "45008": "KT",
    "52501": "Singtel", "52503": "M1", "52505": "StarHub",
    "52001": "AIS", "52004": "True", "52005": "dtac",
    "50212": "Maxis", "50216": "DiGi", "50219": "Celcom",
    "51001": "Indosat", "51010": "Telkomsel", "51011": "XL",
    "51502": "Globe", "51503": "Smart", "45201": "MobiFone", "45202": "Vinaphone",
    "45204": "Viettel", "50501": "Telstra", "50502": "Optus", "50503": "Vodafone",
    "53001": "One NZ", "53005": "Spark", "42402": "e&", "42403": "du",
    # Latin America and Africa
    "72402": "TIM", "72405": "Claro", "72406": "Vivo", "65501": "Vodacom", "65510": "MTN",
    "60202": "Vodafone",
}

# ISO 3166 country of each mobile country code listed (ITU-T E.212).
COUNTRIES: dict[str, str] = {
    "202": "GR", "204": "NL", "206": "BE", "208": "FR", "212": "MC", "214": "ES", "216": "HU",
    "218": "BA", "219": "HR", "220": "RS", "222": "IT", "226": "RO", "228": "CH", "230": "CZ",
    "231": "SK", "232": "AT", "234": "GB", "235": "GB", "238": "DK", "240": "SE", "242": "NO",
    "244": "FI", "246": "LT", "247": "LV", "248": "EE", "250": "RU", "255": "UA", "260": "PL",
    "262": "DE", "268": "PT", "270": "LU", "272": "IE", "274": "IS", "278": "MT", "280": "CY",
    "284": "BG", "286": "TR", "293": "SI", "302": "CA", "310": "US", "311": "US", "312": "US",
    "313": "US", "314": "US", "315": "US", "316": "US", "334": "MX", "404": "IN", "405": "IN",
    "410": "PK", "413": "LK", "414": "MM", "415": "LB", "416": "JO", "418": "IQ", "419": "KW",
    "420": "SA", "424": "AE", "425": "IL", "427": "QA", "440": "JP", "441": "JP", "450": "KR",
    "452": "VN", "454": "HK", "455": "MO", "456": "KH", "457": "LA", "460": "CN", "466": "TW",
    "470": "BD", "502": "MY", "505": "AU", "510": "ID", "515": "PH", "520": "TH", "525": "SG",
    "530": "NZ", "602": "EG", "604": "MA", "621": "NG", "639": "KE", "655": "ZA", "716": "PE",
    "722": "AR", "724": "BR", "730": "CL", "732": "CO", "734": "VE", "748": "UY",
}

MCC_MNC = re.compile(r"^\d{5,6}$")


def mcc_mnc_clean(raw: str | bytes | None) -> str:
    """The MCC/MNC digits of a 3GPP-*-MCC-MNC value, or "" when it is not one."""
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    value = (raw or "").strip()
    return value if MCC_MNC.match(value) else ""


@dataclass(frozen=True)
class Network:
    code: str  # "23415"
    operator: str  # "Vodafone", or the code when unknown
    country_code: str  # "GB", or "" when unknown
    country: str  # in the active language, or "" when unknown


def _country_name(country_code: str) -> str:
    language = translation.get_language() or "en"
    try:
        locale = Locale.parse(translation.to_locale(language))
    except (UnknownLocaleError, ValueError):
        locale = Locale("en")
    return locale.territories.get(country_code) or Locale("en").territories.get(
        country_code, country_code)


def network_describe(code: str) -> Network | None:
    """The operator and country of an MCC/MNC, named in the active language."""
    code = mcc_mnc_clean(code)
    if not code:
        return None
    country_code = COUNTRIES.get(code[:3], "")
    return Network(code=code, operator=OPERATORS.get(code, code), country_code=country_code,
                   country=_country_name(country_code) if country_code else "")
