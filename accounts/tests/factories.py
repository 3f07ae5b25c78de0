import factory

from accounts.models import User


class PlayerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"player_{n:04d}")
    password = factory.PostGenerationMethodCall("set_unusable_password")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(PlayerFactory):
    username = factory.Sequence(lambda n: f"staff_{n:03d}")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")
