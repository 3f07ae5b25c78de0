import factory

from accounts.models import User

STAFF_PASSWORD = "correct horse battery staple"


class PlayerFactory(factory.django.DjangoModelFactory):
    """A player; pass `password=` for an account that has one (players start without)."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"player_{n:04d}")
    password: str | None = None

    @classmethod
    def _create(cls, model_class, *args, password=None, **kwargs):
        user = model_class(*args, **kwargs)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        return user


class StaffFactory(PlayerFactory):
    username = factory.Sequence(lambda n: f"staff_{n:03d}")
    is_staff = True
    password = STAFF_PASSWORD
