import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()


def _warm_models() -> None:
    # Each web process (granian's, or runserver's) loads the deployed models in the background.
    from django.conf import settings

    from inference import loading

    if settings.INFERENCE_WARM_INTERVAL_S > 0:
        loading.start_warmer(limit=settings.INFERENCE_WARM_VERSIONS, interval_s=settings.INFERENCE_WARM_INTERVAL_S)


_warm_models()
