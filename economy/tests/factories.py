import factory

from economy.models import Currency, EarnRule


class CurrencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Currency
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"gems{n}")
    name = factory.LazyAttribute(lambda obj: obj.code.title())
    max_balance = None


class EarnRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EarnRule

    reason = "daily_login"
    currency = factory.LazyFunction(lambda: Currency.objects.get(code="coins"))
    max_per_grant = None
    max_per_day = None
