"""Hear what casekit did: receivers for three signals."""

from casekit import Actor, CaseKit, signals

kit = CaseKit(database_url="sqlite://")
kit.create_schema()
heard = []


@signals.case_opened.connect_via(kit)  # only this kit's cases
def on_opened(sender, *, case, actor, message, **extra):
    heard.append(f"opened {case.number} by {actor.describe()}")


@signals.status_changed.connect
def on_status(sender, *, case, actor, old, new, **extra):
    heard.append(f"{case.number}: {old} -> {new}")


@signals.message_posted.connect
def on_message(sender, *, case, actor, message, **extra):
    if message.audience == "internal":
        return  # the host's view includes internal notes: never forward them
    heard.append(f"{case.number}: message for {message.audience}")
    raise RuntimeError("a failing receiver is logged and changes nothing")


host = Actor.host()
acme = kit.directory.add_organization(host, name="Acme", role="shipper")
case = kit.cases.open(host, type="other", shipper=acme.id)
kit.messages.post(host, case.number, "Looking into it.")  # the post still succeeds
kit.cases.solve(host, case.number)
print("\n".join(heard))
