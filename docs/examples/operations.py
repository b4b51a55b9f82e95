"""Operations: the health check, casekit's Prometheus metrics, and JSON logs."""

import io
import json
import logging

from prometheus_client.parser import text_string_to_metric_families

from casekit import Actor, CaseKit, FrozenClock
from casekit.logs import configure
from casekit.metrics import CaseKitMetrics

clock = FrozenClock()
kit = CaseKit(database_url="sqlite://", clock=clock, webhook_allow_private_addresses=True)
kit.create_schema()
metrics = CaseKitMetrics(kit)  # on a registry of its own; registry=... for the host's

host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme", role="shipper")
kit.webhooks.subscribe(host, org_id=acme.id, url="https://127.0.0.1/tms", events=["case_opened"])
kit.cases.open(host, type="other", shipper=acme.id)

print("now:", kit.health().as_dict()["status"])
clock.advance(minutes=20)  # no worker ran: the webhook request waits
health = kit.health()
print("20 minutes later:", health.failed, "-", health.checks[-1].detail)

body, content_type = metrics.exposition()
for family in text_string_to_metric_families(body.decode()):
    for sample in family.samples:
        if sample.value and not sample.name.endswith(("_created", "_up")):
            print(f"{sample.name}{sample.labels} {sample.value:g}")

stream = io.StringIO()
configure(json=True, stream=stream)  # casekit's loggers, one JSON object a line
logging.getLogger("casekit.example").warning("no worker for %d minutes", 20, extra={"queue": "tms"})
record = json.loads(stream.getvalue())
del record["time"]
print(record)
