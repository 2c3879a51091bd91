"""Chat history, text search and export (/admin/v1/accounts/{id}/chats, .../export, `parley export`)
against a real server on a store generated for the module, on both backends. Every expectation is
read from the store itself (``query``), never from the generator's own bookkeeping."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from datetime import datetime

import orjson
import pytest

from parley.domain.chat import Chat, Event
from parley.domain.ids import new_chat_id
from parley.domain.survey import Answer
from parley.services.admin_tokens import AdminTokens
from parley.services.engine import RT_SESSION_BASE
from parley.store.protocol import Submission
from tests.e2e.conftest import ACCOUNT, Server, database_url, q, query, seed

OTHER = "777"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HOUR = 3_600_000
CHATS = 36
WORD = re.compile(r"[^\W_]+")
MADE: dict[str, str] = {}  # the admin token the world's seed made


def _lines(n: int) -> list[tuple[str, dict, bool]]:
    """(type, fields, agents only) of chat n's events after its opening."""
    visitor = f"hello number{n}" + (" alpha" if n % 3 == 0 else "")
    agent = "bravo to you" if n % 4 == 0 else "welcome"
    events = [
        ("line", {"textType": "plain", "text": visitor, "by": None, "source": "visitor", "subType": "REGULAR"}, False),
        ("line", {"textType": "plain", "text": agent, "by": "Natalie", "source": "agent", "subType": "REGULAR"}, False),
    ]
    special = {
        5: ("secretword only agents see", True),
        7: ('Charlie, said "delta"\nand a second line', False),
        8: ('=HYPERLINK("http://evil")', False),
        9: ("-1+2 and @SUM(A1) both", False),
    }
    if n in special:
        text, agents_only = special[n]
        sub = "ONLY_TO_REP" if agents_only else "REGULAR"
        fields = {"textType": "plain", "text": text, "by": "Natalie", "source": "agent", "subType": sub}
        events.append(("line", fields, agents_only))
    if n == 10:
        events.append(("line", {"textType": "rich-content", "text": None, "json": {"type": "vertical"}}, False))
    return events


async def _world(admin) -> None:
    """The demo account's chats (every state, both skills, two agents, five visitors, an hour apart),
    a few of another account with the same words, survey answers and transcript requests, a token."""
    store = admin.store
    await admin.create_agent(ACCOUNT, "bob", "bob-secret", "Bob", ["Sales", "Support"], 2)
    await admin.create_account(OTHER)
    directory = await store.load_directory()
    skills = sorted(s.id for s in directory.skills.values() if s.account_id == ACCOUNT)
    agents = sorted(a.id for a in directory.agents.values() if a.account_id == ACCOUNT)
    for n in range(CHATS + 5):
        account = ACCOUNT if n < CHATS else OTHER
        state = ("waiting", "chatting", "ended")[n % 3] if n < CHATS else "ended"
        start = T0 + n * HOUR
        chat = Chat(
            id=new_chat_id(),
            account_id=account,
            rt_session_id=RT_SESSION_BASE + 100 + n,
            visitor_id=1000 + n % 5,
            start_ms=start,
            chat_timeout=100_000,  # open chats stay open while the module runs
            state=state,
            skill_id=skills[n % 2] if account == ACCOUNT else None,
            agent_id=agents[n % 2] if state != "waiting" and account == ACCOUNT else None,
            chatting_ms=start + 1000 if state != "waiting" else None,
            ended_ms=start + 60_000 if state == "ended" else None,
            visitor_name=f"Visitor {n}",
        )
        drafts = [("state", {"state": "waiting"}, False)] + _lines(n)
        if state == "ended":
            drafts.append(("state", {"state": "ended"}, False))
        events = [Event(i, kind, start + i * 1000, fields, only) for i, (kind, fields, only) in enumerate(drafts)]
        await store.insert_chat(chat, events, new_visitor=True)
        if n in (2, 5):
            answer = Answer(4991315, "Shall we e-mail you a copy?", ("no",), "alpha_numeric")
            submission = Submission(account, "exit", chat.id, 361348, [answer], {"userAgent": "t"}, start + 70_000)
            await store.surveys.save_submission(submission)
            await store.mail.request_transcript(account, chat.id, f"v{n}@example.com", "Your chat", None, start + 5000)
    _, MADE["token"] = await AdminTokens(store).create("history tests")


@pytest.fixture(scope="module")
def world(tmp_path_factory, backend):  # after the backend is chosen, so [postgres] runs on it
    database = tmp_path_factory.mktemp("history") / "parley.db"
    seed(database, _world)
    server = Server(database).start()
    server.auth = {"Authorization": f"Bearer {MADE['token']}"}
    yield server
    server.stop()


def _get(http, world, path: str, **params):
    return http.get(f"{world.url}/admin/v1/accounts/{ACCOUNT}{path}", params=params, headers=world.auth)


def _walk(http, world, **params) -> list[dict]:
    """Every page of a list, following ``next``; no chat may come twice."""
    found, cursor = [], None
    while True:
        answer = _get(http, world, "/chats", **params, **({"cursor": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found += body["chats"]
        cursor = body["next"]
        if cursor is None:
            break
    assert len({c["id"] for c in found}) == len(found)
    return found


def _stored(database, where: str = "TRUE", *args) -> list[str]:
    rows = query(
        database,
        f"SELECT id FROM chats WHERE account_id = '{ACCOUNT}' AND {where} ORDER BY start_ms DESC, id DESC",
        *args,
    )
    return [row[0] for row in rows]


def _lines_of(database, account: str = ACCOUNT) -> dict[str, list[str]]:
    """Each chat's line texts, from the store."""
    texts: dict[str, list[str]] = {}
    for chat_id, fields in query(
        database,
        "SELECT e.chat_id, e.fields FROM events e JOIN chats c ON c.id = e.chat_id"
        " WHERE c.account_id = $1 AND e.type = 'line' ORDER BY e.chat_id, e.id",
        account,
    ):
        text = orjson.loads(fields).get("text")
        texts.setdefault(chat_id, []).append(text or "")
    return texts


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def test_pages_visit_every_chat_once_newest_first(world, http):
    for limit in (1, 7, 200):
        ids = [c["id"] for c in _walk(http, world, limit=limit)]
        assert ids == _stored(world.database)
    first = _get(http, world, "/chats").json()
    assert len(first["chats"]) == CHATS and first["next"] is None  # default page 50 > 36
    newest = first["chats"][0]
    stored = query(world.database, "SELECT start_ms, visitor_id, state FROM chats WHERE id = $1", newest["id"])[0]
    assert (_ms(newest["startTime"]), newest["visitor"]["id"], newest["state"]) == stored
    lines = query(world.database, "SELECT count(*) FROM events WHERE chat_id = $1 AND type = 'line'", newest["id"])
    assert newest["lines"] == lines[0][0]


def test_each_filter_narrows_to_exactly_the_chats_the_store_holds(world, http):
    skill, agent = query(world.database, "SELECT skill_id, agent_id FROM chats WHERE agent_id IS NOT NULL LIMIT 1")[0]
    cases = [
        ({"state": "waiting"}, "state = 'waiting'"),
        ({"state": "chatting"}, "state = 'chatting'"),
        ({"state": "ended"}, "state = 'ended'"),
        ({"skill": skill}, f"skill_id = {skill}"),
        ({"agent": agent}, f"agent_id = {agent}"),
        ({"visitor": 1002}, "visitor_id = 1002"),
        ({"from": T0 + 10 * HOUR}, f"start_ms >= {T0 + 10 * HOUR}"),
        ({"to": "2026-01-01T05:00:00Z"}, f"start_ms < {T0 + 5 * HOUR}"),
        (
            {"from": "2026-01-01T03:00:00+00:00", "to": T0 + 9 * HOUR},
            f"start_ms >= {T0 + 3 * HOUR} AND start_ms < {T0 + 9 * HOUR}",
        ),
        (
            {"state": "ended", "skill": skill, "visitor": 1000},
            f"state = 'ended' AND skill_id = {skill} AND visitor_id = 1000",
        ),
        ({"visitor": 99999}, "visitor_id = 99999"),
    ]
    for params, where in cases:
        expected = _stored(world.database, where)
        assert [c["id"] for c in _walk(http, world, limit=4, **params)] == expected, params
        assert len(expected) < CHATS or params == {}


def _having(texts: dict[str, list[str]], words: list[str]) -> set[str]:
    """Chats with a line holding every word (whole words, case folded), computed from the store's rows."""
    return {
        chat_id
        for chat_id, lines in texts.items()
        if any(set(words) <= {w.lower() for w in WORD.findall(line)} for line in lines)
    }


def test_text_search_finds_exactly_the_chats_with_the_words(world, http):
    texts = _lines_of(world.database)
    for search, words in [
        ("alpha", ["alpha"]),
        ("BRAVO", ["bravo"]),
        ("delta charlie", ["delta", "charlie"]),  # both words, in one line, any order
        ("secretword", ["secretword"]),  # agents-only lines are searched too: administrators read everything
        ("hyperlink", ["hyperlink"]),
        ("number17", ["number17"]),
        ("alpha bravo", ["alpha", "bravo"]),  # in different lines of a chat: no match
        ("zzzznothing", ["zzzznothing"]),
    ]:
        expected = _having(texts, words)
        found = _walk(http, world, text=search, limit=5)
        assert {c["id"] for c in found} == expected, search
        assert [c["id"] for c in found] == [i for i in _stored(world.database) if i in expected]
        for chat in found:
            assert set(words) <= {w.lower() for w in WORD.findall(chat["match"]["text"])}
    assert _having(texts, ["alpha"]) and not _having(texts, ["alpha", "bravo"])
    # Text and filters together; the other account's lines (same words) never show.
    both = _walk(http, world, text="alpha", state="ended")
    assert {c["id"] for c in both} == _having(texts, ["alpha"]) & set(_stored(world.database, "state = 'ended'"))


def test_a_chat_past_the_live_retention_is_readable_whole(world, http):
    chat_id = query(
        world.database,
        "SELECT c.id FROM chats c JOIN survey_submissions s ON s.chat_id = c.id WHERE c.state = 'ended'",
    )[0][0]
    # The live API forgot it long ago (ended in January, retention an hour) ...
    live = http.get(f"{world.url}/api/account/{ACCOUNT}/chat/{chat_id}.json?{q()}")
    assert live.status_code == 404
    # ... the history has every event, its survey answers and its transcript request.
    answer = _get(http, world, f"/chats/{chat_id}")
    assert answer.status_code == 200, answer.text
    chat = answer.json()["chat"]
    stored = query(
        world.database,
        "SELECT id, type, time_ms, agents_only, fields FROM events WHERE chat_id = $1 ORDER BY id",
        chat_id,
    )
    assert [(e["id"], e["type"], _ms(e["time"]), int(e["agentsOnly"]), e["fields"]) for e in chat["events"]] == [
        (r[0], r[1], r[2], r[3], orjson.loads(r[4])) for r in stored
    ]
    assert chat["surveys"][0]["kind"] == "exit" and chat["surveys"][0]["surveyId"] == 361348
    assert chat["surveys"][0]["answers"][0]["answer"] == ["no"]
    assert [t["email"] for t in chat["transcriptRequests"]] == [
        r[0] for r in query(world.database, "SELECT email FROM transcript_requests WHERE chat_id = $1", chat_id)
    ]
    assert chat["transcriptRequests"]


def test_refusals(world, http):
    other_chat = query(world.database, "SELECT id FROM chats WHERE account_id = $1 LIMIT 1", OTHER)[0][0]
    assert _get(http, world, f"/chats/{other_chat}").status_code == 404
    assert _get(http, world, "/chats/H1-nope").status_code == 404
    unknown = http.get(f"{world.url}/admin/v1/accounts/nope/chats", headers=world.auth)
    assert unknown.status_code == 404 and unknown.json()["error"]["message"]
    assert http.get(f"{world.url}/admin/v1/accounts/nope/export", headers=world.auth).status_code == 404
    for path in ("/chats", f"/chats/{other_chat}", "/export"):
        for headers in ({}, {"Authorization": "Bearer padm_" + "0" * 64}):
            answer = http.get(f"{world.url}/admin/v1/accounts/{ACCOUNT}{path}", headers=headers)
            assert answer.status_code == 401 and answer.json()["error"]["internalCode"]
    for params in [
        {"state": "done"},
        {"skill": "x"},
        {"agent": "-3"},
        {"visitor": "1.5"},
        {"from": "yesterday"},
        {"to": "2026-13-01"},
        {"from": T0 + HOUR, "to": T0},
        {"limit": 0},
        {"limit": 201},
        {"limit": "ten"},
        {"cursor": "garbage!"},
        {"cursor": "WzEsMl0"},  # base64 of [1,2]: a chat id is text
        {"text": "!!! ???"},
        {"text": "a " * 200},
        {"text": " ".join(f"w{n}" for n in range(9))},
        {"bogus": "1"},
        {"state": "x" * 1000},
    ]:
        answer = _get(http, world, "/chats", **params)
        assert answer.status_code == 400, (params, answer.text)
        assert answer.json()["error"]["message"]
    assert (
        http.get(
            f"{world.url}/admin/v1/accounts/{ACCOUNT}/chats?state=ended&state=waiting", headers=world.auth
        ).status_code
        == 400
    )
    for params in [{"format": "xml"}, {"from": "soon"}, {"limit": 3}]:
        assert _get(http, world, "/export", **params).status_code == 400, params


def _export(http, world, **params) -> bytes:
    answer = _get(http, world, "/export", **params)
    assert answer.status_code == 200, answer.text
    return answer.content


def test_jsonl_export_round_trips_every_event_of_every_chat(world, http):
    body = _export(http, world)
    chats = [orjson.loads(line) for line in body.splitlines()]
    stored = query(
        world.database,
        "SELECT c.id, e.id, e.type, e.time_ms, e.agents_only, e.fields FROM chats c JOIN events e ON e.chat_id = c.id"
        " WHERE c.account_id = $1 ORDER BY c.start_ms, c.id, e.id",
        ACCOUNT,
    )
    exported = [
        (chat["id"], e["id"], e["type"], _ms(e["time"]), int(e["agentsOnly"]), e["fields"])
        for chat in chats
        for e in chat["events"]
    ]
    assert exported == [(r[0], r[1], r[2], r[3], r[4], orjson.loads(r[5])) for r in stored]
    assert len(chats) == CHATS
    # Each line is the chat as GET .../chats/{id} gives it.
    assert chats[3] == _get(http, world, f"/chats/{chats[3]['id']}").json()["chat"]
    assert sum(len(c["surveys"]) for c in chats) == 2 and sum(len(c["transcriptRequests"]) for c in chats) == 2
    # A range keeps the chats that started within it.
    ranged = [
        orjson.loads(line)["id"]
        for line in _export(http, world, **{"from": T0 + 2 * HOUR, "to": T0 + 6 * HOUR}).splitlines()
    ]
    assert ranged == list(
        reversed(_stored(world.database, f"start_ms >= {T0 + 2 * HOUR} AND start_ms < {T0 + 6 * HOUR}"))
    )


def test_csv_export_parses_back_to_every_line_and_defuses_formulas(world, http):
    answer = _get(http, world, "/export", format="csv")
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text, newline="")))
    stored = query(
        world.database,
        "SELECT c.id, e.id, e.fields, e.agents_only FROM chats c JOIN events e ON e.chat_id = c.id"
        " WHERE c.account_id = $1 AND e.type = 'line' ORDER BY c.start_ms, c.id, e.id",
        ACCOUNT,
    )
    assert len(rows) == len(stored)
    for row, (chat_id, event_id, fields, agents_only) in zip(rows, stored, strict=True):
        text = orjson.loads(fields).get("text") or ""
        assert (row["chatId"], int(row["eventId"]), row["agentsOnly"]) == (
            chat_id,
            event_id,
            str(bool(agents_only)).lower(),
        )
        if text[:1] in ("=", "+", "-", "@"):
            assert row["text"] == "'" + text  # a spreadsheet shows it as text, never runs it
        else:
            assert row["text"] == text
    assert any("\n" in r["text"] and '"delta"' in r["text"] for r in rows)
    assert {r["text"] for r in rows} >= {'\'=HYPERLINK("http://evil")', "'-1+2 and @SUM(A1) both"}


def test_cli_export_writes_the_same_bytes_as_the_api(world, http, tmp_path):
    for kind, params in [("jsonl", {}), ("csv", {}), ("jsonl", {"from": "2026-01-01T04:00:00Z", "to": T0 + 20 * HOUR})]:
        flags = [f"--{name}={value}" for name, value in params.items()]
        out = tmp_path / f"export.{kind}"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "parley",
                "export",
                "--account",
                ACCOUNT,
                "--format",
                kind,
                "--output",
                str(out),
                *flags,
                "--database",
                database_url(world.database),
            ],
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert out.read_bytes() == _export(http, world, format=kind, **params)
    to_stdout = subprocess.run(
        [sys.executable, "-m", "parley", "export", "--account", ACCOUNT, "--database", database_url(world.database)],
        capture_output=True,
        timeout=60,
    )
    assert to_stdout.returncode == 0 and to_stdout.stdout == _export(http, world)
    refused = subprocess.run(
        [sys.executable, "-m", "parley", "export", "--account", "nope", "--database", database_url(world.database)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "no account nope" in refused.stderr
