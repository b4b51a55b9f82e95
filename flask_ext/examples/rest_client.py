"""A REST API client: open a case, post a message with an attachment, read the timeline.

Run it with the API's base URL and an API key of scope ``write``::

    python rest_client.py https://cases.example.com/api/v1 ck_...
"""

import sys

import requests


def main(base: str, token: str) -> None:
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"

    # Open a case: the key's organization is the shipper, the source is "api".
    response = api.post(
        f"{base}/cases",
        json={"type": "lost", "subject": "Parcel not delivered", "shipment": "SHP-1"},
    )
    response.raise_for_status()
    case = response.json()
    print("opened", case["number"], case["status"], case["source"])

    # Post a message to the carrier with a file (multipart/form-data).
    response = api.post(
        f"{base}/cases/{case['number']}/messages",
        data={"body": "Please check the depot.", "audience": "partners"},
        files={"attachments": ("label.pdf", b"%PDF-1.4 ...", "application/pdf")},
    )
    response.raise_for_status()
    print("attached", [a["filename"] for a in response.json()["attachments"]])

    # Read the timeline as this key may see it.
    response = api.get(f"{base}/cases/{case['number']}/timeline")
    response.raise_for_status()
    for entry in response.json()["entries"]:
        print(entry["kind"], entry["event"] or entry["audience"], entry["body"])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
