"""Views for the benchmarks and fault drills only, mounted when BENCH_ENDPOINTS is on.

`/bench/constant` is the baseline every API benchmark is compared with: the same gunicorn,
middleware and JSON rendering, with no authentication, database or serializer.
`/bench/sleep?ms=` holds a worker thread, so the fault drill can fill the request queue.
"""

import time

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.problems import problem_response

CONSTANT_BODY = {"status": "ok", "service": "gamebackend", "version": "1.0.0"}
MAX_SLEEP_MS = 5000


def bench_constant(request: HttpRequest) -> HttpResponse:
    return JsonResponse(CONSTANT_BODY)


def bench_sleep(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("ms", "0")
    if not raw.isdigit() or int(raw) > MAX_SLEEP_MS:
        return problem_response(
            request,
            status=400,
            code="validation_error",
            detail=f"ms must be an integer from 0 to {MAX_SLEEP_MS}.",
        )
    time.sleep(int(raw) / 1000)
    return JsonResponse({"slept_ms": int(raw)})
