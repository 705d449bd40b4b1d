"""The demo catalog: regions and plans a small eSIM seller might offer.

Prices are integer minor units (cents, fen; whole yen for JPY) roughly in line
with what travel eSIMs cost. Loading is idempotent: plans and regions are
matched by code and brought to exactly these values.
"""

from dataclasses import dataclass
from datetime import datetime

from .coupons import coupon_upsert
from .models import CouponKind, Plan, PlanKind, Region, Stacking, ValidityStart
from .services import plan_archive, plan_restore, plan_upsert, region_upsert

GB = 10**9
MB = 10**6

EUROPE = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
    "GB", "CH",
]
ASIA_PACIFIC = [
    "JP", "KR", "CN", "HK", "MO", "TW", "SG", "MY", "TH", "VN", "ID", "PH", "KH", "LA", "IN",
    "AU", "NZ",
]
GLOBAL = sorted(set(EUROPE + ASIA_PACIFIC + [
    "US", "CA", "MX", "BR", "AR", "CL", "CO", "PE", "ZA", "EG", "MA", "KE", "TR", "AE", "SA",
    "QA", "IL", "RS", "UA", "GE",
]))

REGIONS = {
    "europe": (EUROPE, {"en": "Europe", "zh-hans": "欧洲", "zh-hant": "歐洲", "ja": "ヨーロッパ",
                        "es": "Europa"}),
    "asia-pacific": (ASIA_PACIFIC, {"en": "Asia-Pacific", "zh-hans": "亚太地区",
                                    "zh-hant": "亞太地區", "ja": "アジア太平洋",
                                    "es": "Asia-Pacífico"}),
    "global": (GLOBAL, {"en": "Global", "zh-hans": "全球", "zh-hant": "全球", "ja": "グローバル",
                        "es": "Global"}),
}


@dataclass(frozen=True)
class DemoPlan:
    code: str
    names: dict[str, tuple[str, str]]
    prices: dict[str, int]
    validity_days: int
    data_bytes: int | None = None
    region: str | None = None
    countries: tuple[str, ...] = ()
    kind: str = PlanKind.BASE
    fair_use_bytes: int | None = None
    throttle_kbps: int | None = None
    validity_start: str = ValidityStart.ON_FIRST_USE
    stacking: str = Stacking.QUEUE
    renewable: bool = True
    pausable: bool = False
    max_pause_days: int = 0
    archived: bool = False


PLANS = [
    DemoPlan(
        code="japan-3gb-7d", countries=("JP",), data_bytes=3 * GB, validity_days=7,
        names={"en": ("Japan 3 GB", "3 GB for a week in Japan on a leading local network."),
               "zh-hans": ("日本 3 GB", "在日本使用一周，3 GB 流量，接入当地主流网络。"),
               "zh-hant": ("日本 3 GB", "在日本使用一週，3 GB 流量，連接當地主要電信網路。"),
               "ja": ("日本 3 GB", "日本の大手キャリア回線で 1 週間使える 3 GB。"),
               "es": ("Japón 3 GB", "3 GB durante una semana en Japón, en una de las principales "
                                    "redes locales.")},
        prices={"USD": 650, "EUR": 600, "CNY": 4500, "JPY": 950},
    ),
    DemoPlan(
        code="japan-10gb-30d", countries=("JP",), data_bytes=10 * GB, validity_days=30,
        pausable=True, max_pause_days=7,
        names={"en": ("Japan 10 GB", "A month in Japan with room for maps, video calls and "
                                     "photos. Pause it for up to a week."),
               "zh-hans": ("日本 10 GB", "在日本使用一个月，地图、视频通话和照片都够用。"
                                        "最多可暂停一周。"),
               "zh-hant": ("日本 10 GB", "在日本使用一個月，地圖、視訊通話和照片都夠用。"
                                         "最多可暫停一週。"),
               "ja": ("日本 10 GB", "日本で 1 か月。地図、ビデオ通話、写真にも十分な容量です。"
                                    "最長 1 週間一時停止できます。"),
               "es": ("Japón 10 GB", "Un mes en Japón con datos de sobra para mapas, "
                                     "videollamadas y fotos. Puedes pausarlo hasta una semana.")},
        prices={"USD": 1700, "EUR": 1600, "CNY": 11900, "JPY": 2500},
    ),
    DemoPlan(
        code="usa-5gb-15d", countries=("US",), data_bytes=5 * GB, validity_days=15,
        names={"en": ("USA 5 GB", "Two weeks across the United States on a nationwide 5G "
                                  "network."),
               "zh-hans": ("美国 5 GB", "在美国全境使用两周，接入全国性 5G 网络。"),
               "zh-hant": ("美國 5 GB", "在美國全境使用兩週，連接全國性 5G 網路。"),
               "ja": ("アメリカ 5 GB", "全米をカバーする 5G ネットワークで 2 週間使えます。"),
               "es": ("Estados Unidos 5 GB", "Dos semanas por todo Estados Unidos en una red 5G "
                                             "nacional.")},
        prices={"USD": 1000, "EUR": 950, "CNY": 7200, "JPY": 1500},
    ),
    DemoPlan(
        code="uk-2gb-7d", countries=("GB",), data_bytes=2 * GB, validity_days=7,
        validity_start=ValidityStart.ON_PURCHASE,
        names={"en": ("United Kingdom 2 GB", "A short trip to the UK: 2 GB for 7 days from "
                                             "purchase."),
               "zh-hans": ("英国 2 GB", "英国短途旅行：2 GB 流量，自购买起 7 天有效。"),
               "zh-hant": ("英國 2 GB", "英國短程旅行：2 GB 流量，自購買起 7 天有效。"),
               "ja": ("イギリス 2 GB", "イギリスへの短い旅行に：購入から 7 日間使える 2 GB。"),
               "es": ("Reino Unido 2 GB", "Un viaje corto al Reino Unido: 2 GB durante 7 días "
                                          "desde la compra.")},
        prices={"USD": 500, "EUR": 460, "CNY": 3600},
    ),
    DemoPlan(
        code="china-hk-6gb-15d", countries=("CN", "HK", "MO"), data_bytes=6 * GB,
        validity_days=15,
        names={"en": ("China, Hong Kong & Macau 6 GB", "Mainland China, Hong Kong and Macau "
                                                       "in one plan, for 15 days."),
               "zh-hans": ("中国内地及港澳 6 GB", "中国内地、香港和澳门通用，15 天有效。"),
               "zh-hant": ("中國大陸及港澳 6 GB", "中國大陸、香港和澳門通用，15 天有效。"),
               "ja": ("中国・香港・マカオ 6 GB",
                      "中国本土、香港、マカオを 1 つのプランで 15 日間。"),
               "es": ("China, Hong Kong y Macao 6 GB", "China continental, Hong Kong y Macao en "
                                                       "un solo plan, durante 15 días.")},
        prices={"USD": 1200, "EUR": 1100, "CNY": 7900, "JPY": 1800},
    ),
    DemoPlan(
        code="thailand-daily-1gb", countries=("TH",), data_bytes=1 * GB, validity_days=1,
        validity_start=ValidityStart.ON_PURCHASE, stacking=Stacking.PARALLEL,
        names={"en": ("Thailand day pass 1 GB", "1 GB for 24 hours in Thailand, from the "
                                                "moment you buy it."),
               "zh-hans": ("泰国日租 1 GB", "在泰国 24 小时内使用 1 GB，自购买起计时。"),
               "zh-hant": ("泰國日租 1 GB", "在泰國 24 小時內使用 1 GB，自購買起計時。"),
               "ja": ("タイ 1 日パス 1 GB", "購入した時点から 24 時間、タイで 1 GB 使えます。"),
               "es": ("Tailandia, pase de un día 1 GB", "1 GB durante 24 horas en Tailandia, "
                                                        "desde el momento de la compra.")},
        prices={"USD": 150, "EUR": 140, "CNY": 1000, "JPY": 220},
    ),
    DemoPlan(
        code="thailand-unlimited-10d", countries=("TH",), data_bytes=None, validity_days=10,
        fair_use_bytes=20 * GB, throttle_kbps=512, pausable=True, max_pause_days=5,
        names={"en": ("Thailand unlimited", "Unlimited data for 10 days: full speed for the "
                                            "first 20 GB, then 512 kbit/s."),
               "zh-hans": ("泰国不限量", "10 天不限流量：前 20 GB 全速，之后限速 512 kbit/s。"),
               "zh-hant": ("泰國吃到飽", "10 天流量吃到飽：前 20 GB 全速，之後降速至 512 kbit/s。"),
               "ja": ("タイ 使い放題", "10 日間データ使い放題：最初の 20 GB は高速、"
                                       "その後は 512 kbit/s。"),
               "es": ("Tailandia ilimitado", "Datos ilimitados durante 10 días: máxima velocidad "
                                             "los primeros 20 GB y después 512 kbit/s.")},
        prices={"USD": 1400, "EUR": 1300, "CNY": 9900, "JPY": 2100},
    ),
    DemoPlan(
        code="europe-5gb-15d", region="europe", data_bytes=5 * GB, validity_days=15,
        pausable=True, max_pause_days=10,
        names={"en": ("Europe 5 GB", "32 European countries, including the UK and "
                                     "Switzerland, for 15 days."),
               "zh-hans": ("欧洲 5 GB", "覆盖包括英国和瑞士在内的 32 个欧洲国家，15 天有效。"),
               "zh-hant": ("歐洲 5 GB", "涵蓋包括英國和瑞士在內的 32 個歐洲國家，15 天有效。"),
               "ja": ("ヨーロッパ 5 GB", "イギリスとスイスを含むヨーロッパ 32 か国で 15 日間。"),
               "es": ("Europa 5 GB", "32 países europeos, incluidos el Reino Unido y Suiza, "
                                     "durante 15 días.")},
        prices={"USD": 1100, "EUR": 1000, "CNY": 7900, "JPY": 1600},
    ),
    DemoPlan(
        code="europe-20gb-30d", region="europe", data_bytes=20 * GB, validity_days=30,
        validity_start=ValidityStart.ON_PURCHASE, stacking=Stacking.EXTEND,
        names={"en": ("Europe 20 GB", "A month across Europe. Buying it again adds the data "
                                      "and 30 more days to the plan you have."),
               "zh-hans": ("欧洲 20 GB", "畅游欧洲一个月。再次购买会把流量和 30 天有效期"
                                        "叠加到现有套餐上。"),
               "zh-hant": ("歐洲 20 GB", "暢遊歐洲一個月。"
                                         "再次購買會將流量和 30 天有效期疊加到現有方案上。"),
               "ja": ("ヨーロッパ 20 GB", "ヨーロッパを 1 か月。もう一度購入すると、"
                                          "今のプランにデータ容量と 30 日間が追加されます。"),
               "es": ("Europa 20 GB", "Un mes por toda Europa. Si vuelves a comprarlo, se suman "
                                      "los datos y 30 días más al plan que ya tienes.")},
        prices={"USD": 2900, "EUR": 2700, "CNY": 20900, "JPY": 4300},
    ),
    DemoPlan(
        code="asia-pacific-8gb-15d", region="asia-pacific", data_bytes=8 * GB,
        validity_days=15,
        names={"en": ("Asia-Pacific 8 GB", "17 destinations from Japan to Australia, for "
                                           "15 days."),
               "zh-hans": ("亚太 8 GB", "从日本到澳大利亚的 17 个目的地通用，15 天有效。"),
               "zh-hant": ("亞太 8 GB", "從日本到澳洲的 17 個目的地通用，15 天有效。"),
               "ja": ("アジア太平洋 8 GB", "日本からオーストラリアまで 17 の国と地域で 15 日間。"),
               "es": ("Asia-Pacífico 8 GB", "17 destinos, de Japón a Australia, durante 15 días.")},
        prices={"USD": 1600, "EUR": 1500, "CNY": 11500, "JPY": 2400},
    ),
    DemoPlan(
        code="global-3gb-30d", region="global", data_bytes=3 * GB, validity_days=30,
        validity_start=ValidityStart.ON_PURCHASE, renewable=False,
        names={"en": ("Global 3 GB", "One plan for more than 60 countries on five "
                                     "continents, for 30 days."),
               "zh-hans": ("全球 3 GB", "一个套餐覆盖五大洲 60 多个国家，30 天有效。"),
               "zh-hant": ("全球 3 GB", "一個方案涵蓋五大洲 60 多個國家，30 天有效。"),
               "ja": ("グローバル 3 GB", "5 大陸 60 か国以上で使えるプランが 1 つに。"
                                         "30 日間有効。"),
               "es": ("Global 3 GB", "Un solo plan para más de 60 países de cinco continentes, "
                                     "durante 30 días.")},
        prices={"USD": 2200, "EUR": 2000, "CNY": 15800, "JPY": 3300},
    ),
    DemoPlan(
        code="topup-global-1gb", kind=PlanKind.TOPUP, region="global", data_bytes=1 * GB,
        validity_days=7, validity_start=ValidityStart.ON_PURCHASE, stacking=Stacking.PARALLEL,
        renewable=True,
        names={"en": ("Top-up 1 GB", "1 GB extra for 7 days, usable at once wherever your "
                                     "card works."),
               "zh-hans": ("加油包 1 GB", "额外 1 GB，7 天有效，购买后立即可用。"),
               "zh-hant": ("加購包 1 GB", "額外 1 GB，7 天有效，購買後在卡片可用的地區立即可用。"),
               "ja": ("追加データ 1 GB", "7 日間有効の追加 1 GB。"
                                         "カードが使える場所ならすぐに使えます。"),
               "es": ("Recarga adicional 1 GB", "1 GB extra durante 7 días, disponible al "
                                                "instante dondequiera que funcione tu tarjeta.")},
        prices={"USD": 400, "EUR": 370, "CNY": 2900, "JPY": 600},
    ),
    DemoPlan(
        code="topup-europe-3gb", kind=PlanKind.TOPUP, region="europe", data_bytes=3 * GB,
        validity_days=7, validity_start=ValidityStart.ON_PURCHASE, stacking=Stacking.EXTEND,
        renewable=False,
        names={"en": ("Europe top-up 3 GB", "Adds 3 GB to your European plan and moves its "
                                            "end 7 days later."),
               "zh-hans": ("欧洲加油包 3 GB", "为欧洲套餐增加 3 GB，并将到期日顺延 7 天。"),
               "zh-hant": ("歐洲加購包 3 GB", "為歐洲方案增加 3 GB，並將到期日延後 7 天。"),
               "ja": ("ヨーロッパ追加データ 3 GB", "ヨーロッパのプランに 3 GB を追加し、"
                                                   "有効期限を 7 日延長します。"),
               "es": ("Recarga adicional Europa 3 GB", "Añade 3 GB a tu plan de Europa y retrasa "
                                                       "7 días su fecha de fin.")},
        prices={"USD": 700, "EUR": 650, "CNY": 4900},
    ),
    DemoPlan(
        code="japan-1gb-3d", countries=("JP",), data_bytes=1 * GB, validity_days=3,
        archived=True,
        names={"en": ("Japan 1 GB (retired)", "No longer sold."),
               "zh-hans": ("日本 1 GB（已下架）", "已停止销售。"),
               "zh-hant": ("日本 1 GB（已下架）", "已停止販售。"),
               "ja": ("日本 1 GB（販売終了）", "販売を終了しました。"),
               "es": ("Japón 1 GB (retirado)", "Ya no está a la venta.")},
        prices={"USD": 300, "EUR": 280, "CNY": 2100, "JPY": 450},
    ),
]


@dataclass
class DemoCatalog:
    regions: dict[str, Region]
    plans: dict[str, Plan]


def demo_catalog_load(*, now: datetime) -> DemoCatalog:
    """Load the demo regions and plans; running it again leaves the same rows."""
    regions = {
        code: region_upsert(code=code, countries=countries, names=names, now=now)
        for code, (countries, names) in REGIONS.items()
    }
    plans = {}
    for sort_order, demo in enumerate(PLANS):
        plan = plan_upsert(
            code=demo.code,
            terms={
                "kind": demo.kind,
                "data_bytes": demo.data_bytes,
                "fair_use_bytes": demo.fair_use_bytes,
                "throttle_kbps": demo.throttle_kbps,
                "validity_days": demo.validity_days,
                "validity_start": demo.validity_start,
                "stacking": demo.stacking,
                "renewable": demo.renewable,
                "pausable": demo.pausable,
                "max_pause_days": demo.max_pause_days,
                "region": regions[demo.region] if demo.region else None,
                "sort_order": sort_order * 10,
            },
            translations=demo.names,
            prices=demo.prices,
            countries=demo.countries,
            now=now,
        )
        if demo.archived:
            plan_archive(plan=plan, now=now)
        else:
            plan_restore(plan=plan, now=now)
        plans[demo.code] = plan
    demo_coupons_load(plans=plans, now=now)
    return DemoCatalog(regions=regions, plans=plans)


def demo_coupons_load(*, plans: dict[str, Plan], now: datetime) -> None:
    """WELCOME10: 10 % off once per customer; TRAVEL5: 5 USD / 5 EUR / 35 CNY off, 100 uses;
    JAPAN20: 20 % off the Japan plans. No dates, so the demo keeps working; idempotent."""
    coupon_upsert(code="WELCOME10", kind=CouponKind.PERCENT, percent_off=10,
                  max_per_customer=1, description="Demo: welcome offer", now=now)
    coupon_upsert(code="TRAVEL5", kind=CouponKind.FIXED,
                  amounts={"USD": 500, "EUR": 500, "CNY": 3500}, max_redemptions=100,
                  max_per_customer=1, description="Demo: fixed amount off", now=now)
    coupon_upsert(code="JAPAN20", kind=CouponKind.PERCENT, percent_off=20,
                  plans=[plans["japan-3gb-7d"], plans["japan-10gb-30d"]],
                  max_per_customer=2, description="Demo: Japan plans only", now=now)
