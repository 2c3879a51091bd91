import pytest

from parley.domain.account import AWAY, OCCUPIED, ONLINE, STATE_CODES, Agent, canonical_availability


@pytest.mark.parametrize(
    ("value", "canonical"),
    [("Online", ONLINE), ("online", ONLINE), ("ONLINE", ONLINE), (" away ", AWAY), ("occupied", OCCUPIED)],
)
def test_availability_is_case_insensitive_with_canonical_output(value, canonical):
    assert canonical_availability(value) == canonical


@pytest.mark.parametrize("value", ["Offline", "offline", "busy", "", "On line"])
def test_other_availabilities_are_refused(value):
    # Agent spec A5: only Online, Away, Occupied can be set; anything else is a 400.
    assert canonical_availability(value) is None


def test_state_codes():
    # Agent spec A6: 1 Offline, 2 Online, 3 Occupied, 4 Away, as strings.
    assert STATE_CODES == {"Offline": "1", "Online": "2", "Occupied": "3", "Away": "4"}


def agent(max_chats: int) -> Agent:
    return Agent(
        id=1, account_id="1", login="a", password_hash="x", nickname="A", display_name="A", max_chats=max_chats
    )


def test_capacity_below_max_chats():
    assert agent(2).has_capacity(1)
    assert not agent(2).has_capacity(2)


def test_unlimited_capacity():
    assert agent(-1).has_capacity(10_000)


def test_free_slots():
    assert agent(4).free_slots(1) == 3
    assert agent(4).free_slots(6) == 0
    assert agent(-1).free_slots(3) == -1
