"""A webhook receiver that verifies with the Standard Webhooks library, and a kit that calls it."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from standardwebhooks import Webhook, WebhookVerificationError

from casekit import Actor, CaseKit

received = []
SECRET = {}  # the subscription's secret ("whsec_..."), as the receiver stores it


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            # The raw body and the headers: webhook-id, webhook-timestamp, webhook-signature.
            payload = Webhook(SECRET["value"]).verify(body, dict(self.headers))
        except WebhookVerificationError:
            self.send_response(400)  # not from casekit, or replayed: ignore it
        else:
            # webhook-id is the same on every retry of one delivery: drop duplicates by it.
            received.append((self.headers["webhook-id"], payload))
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

for message_id, payload in received:
    print(message_id, payload["event"], payload["case"]["number"], payload["case"]["status"])

# Someone without the secret: refused.
forged = httpx.post(
    url,
    content=b'{"event": "case_solved"}',
    headers={
        "webhook-id": "1",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": "v1,bm90IGEgc2lnbmF0dXJl",
    },
)
print("forged:", forged.status_code)
server.shutdown()
