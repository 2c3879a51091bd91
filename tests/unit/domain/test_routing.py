from parley.domain.account import AWAY, OCCUPIED, OFFLINE, ONLINE, Agent
from parley.domain.routing import Candidate, choose, eligible

SALES, SUPPORT = 1, 2


def agent(agent_id: int, skills=(SALES,), max_chats: int = 2, enabled: bool = True) -> Agent:
    return Agent(
        id=agent_id,
        account_id="1",
        login=f"a{agent_id}",
        password_hash="x",
        nickname=f"A{agent_id}",
        display_name=f"A{agent_id}",
        max_chats=max_chats,
        enabled=enabled,
        skill_ids=list(skills),
    )


def candidate(who: Agent, availability: str = ONLINE, load: int = 0, idle_since_ms: int = 0) -> Candidate:
    return Candidate(agent=who, availability=availability, load=load, idle_since_ms=idle_since_ms)


def test_online_agent_with_the_skill_and_a_free_slot_is_eligible():
    assert eligible(candidate(agent(1)), SALES)


def test_only_online_agents_are_eligible():
    for availability in (AWAY, OCCUPIED, OFFLINE):
        assert not eligible(candidate(agent(1), availability=availability), SALES)


def test_agent_without_the_skill_is_not_eligible():
    assert not eligible(candidate(agent(1, skills=(SUPPORT,))), SALES)


def test_chat_without_a_skill_may_go_to_anyone():
    assert eligible(candidate(agent(1, skills=())), None)


def test_agent_at_max_chats_is_not_eligible():
    assert not eligible(candidate(agent(1, max_chats=2), load=2), SALES)
    assert eligible(candidate(agent(1, max_chats=2), load=1), SALES)


def test_unlimited_agent_is_always_below_capacity():
    assert eligible(candidate(agent(1, max_chats=-1), load=500), SALES)


def test_disabled_agent_is_not_eligible():
    assert not eligible(candidate(agent(1, enabled=False)), SALES)


def test_choose_returns_none_without_eligible_agents():
    assert choose([candidate(agent(1), availability=AWAY), candidate(agent(2, skills=(SUPPORT,)))], SALES) is None
    assert choose([], SALES) is None


def test_choose_prefers_the_fewest_chats():
    busy, free = agent(1), agent(2)
    chosen = choose([candidate(busy, load=1, idle_since_ms=0), candidate(free, load=0, idle_since_ms=999)], SALES)
    assert chosen is free


def test_choose_breaks_load_ties_by_longest_idle():
    recent, long_idle = agent(1), agent(2)
    chosen = choose([candidate(recent, idle_since_ms=5_000), candidate(long_idle, idle_since_ms=1_000)], SALES)
    assert chosen is long_idle


def test_choose_skips_ineligible_even_if_less_loaded():
    away, online = agent(1), agent(2)
    chosen = choose([candidate(away, availability=AWAY, load=0), candidate(online, load=1)], SALES)
    assert chosen is online


def test_choose_skips_full_agents():
    full, other = agent(1, max_chats=1), agent(2, max_chats=3)
    assert choose([candidate(full, load=1), candidate(other, load=2)], SALES) is other
