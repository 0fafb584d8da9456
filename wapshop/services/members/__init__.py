"""Members and marketing (issue 17): points, tiers, coupons, 满减, RFM segments and SMS
campaigns, one room each; pricing.py is what the checkout calls."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Settings:
    points_per_yuan: int
    checkin_points: int
    share_points: int
    tiers: tuple
    sleeping_days: int
    frequent_orders: int
    big_spend_fen: int
    campaign_per_phone: int
    campaign_window: timedelta
    campaign_batch: int
    opt_out_words: tuple[str, ...]
    shop_name: str

    @classmethod
    def from_config(cls, config: Mapping) -> "Settings":
        return cls(
            points_per_yuan=config["POINTS_PER_YUAN"],
            checkin_points=config["POINTS_CHECKIN"],
            share_points=config["POINTS_SHARE"],
            tiers=tuple(config["MEMBER_TIERS"]),
            sleeping_days=config["RFM_SLEEPING_DAYS"],
            frequent_orders=config["RFM_FREQUENT_ORDERS"],
            big_spend_fen=config["RFM_BIG_SPEND_FEN"],
            campaign_per_phone=config["CAMPAIGN_PER_PHONE"],
            campaign_window=config["CAMPAIGN_WINDOW"],
            campaign_batch=config["CAMPAIGN_BATCH"],
            opt_out_words=tuple(config["OPT_OUT_WORDS"]),
            shop_name=config["SHOP_NAME"],
        )
