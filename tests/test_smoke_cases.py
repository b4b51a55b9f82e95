from casekit import Audience, Status


def test_open_and_solve(kit, world):
    case = kit.cases.open(
        world.shipper_actor,
        type="where_is_my_order",
        carrier=world.carrier.id,
        message="Where is it?",
    )
    assert case.number.startswith("CV")
    assert case.status is Status.NEW
    kit.messages.post(world.carrier_actor, case.number, "On its way", audience=Audience.PARTNERS)
    assert kit.cases.get(world.shipper_actor, case.number).status is Status.OPEN
    solved = kit.cases.solve(world.carrier_actor, case.number)
    assert solved.status is Status.SOLVED
