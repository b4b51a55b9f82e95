"""A webhook receiver that checks casekit's signature, and a kit that calls it."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from casekit import Actor, CaseKit
from casekit.webhooks import verify_signature

received = []
SECRET = {}  # the subscription's secret, as the receiver stores it


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if not verify_signature(SECRET["value"], body, self.headers.get("X-Casekit-Signature")):
            self.send_response(400)  # not from casekit, or replayed: ignore it
        else:
            received.append(json.loads(body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_port}/casekit"

# Plain http to loopback is for trying things out; real endpoints use https.
kit = CaseKit(
    database_url="sqlite://",
    webhook_allow_http_loopback=True,
    webhook_allow_private_addresses=True,  # the receiver below is on loopback
)
kit.create_schema()
host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme", role="shipper", external_id="acme")
mia = kit.directory.add_user(
    host, org_id=acme.id, name="Mia", email="mia@acme.example", role="manager"
)
manager = Actor.of_user(mia)

created = kit.webhooks.subscribe(manager, url=url, events=["case_opened", "case_solved"])
SECRET["value"] = created.secret  # shown once: keep it in the receiver's configuration

case = kit.cases.open(manager, type="other", subject="Dented box", message="Box arrived dented")
kit.cases.solve(manager, case.number)
kit.notifications.deliver()  # what `casekit worker` does, continuously

for payload in received:
    print(payload["event"], payload["case"]["number"], payload["case"]["status"])
for delivery in kit.webhooks.deliveries(manager, created.webhook.id):
    print(delivery.id, delivery.event, delivery.status, delivery.history[-1].status_code)
server.shutdown()
