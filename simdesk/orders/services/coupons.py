"""The catalog's coupon services, as orders use them (one import point)."""

from simdesk.catalog.coupons import coupon_confirm, coupon_release, coupon_reserve

__all__ = ["coupon_confirm", "coupon_release", "coupon_reserve"]
