import re

from parley.domain import ids

# Server spec §1.7: H + 19 digits + '-' + 32 lower-case hex + K + 7-8 digits.
SPEC_CHAT_ID = re.compile(r"^H\d{19}-[0-9a-f]{32}K\d{7,8}$")
MAX_SAFE = 2**53 - 1


def test_chat_id_has_the_spec_shape():
    for _ in range(200):
        assert SPEC_CHAT_ID.match(ids.new_chat_id())


def test_chat_id_uses_only_url_safe_characters():
    assert re.fullmatch(r"[A-Za-z0-9-]+", ids.new_chat_id())


def test_chat_id_pattern_accepts_the_spec_example():
    assert ids.CHAT_ID_PATTERN.match("H3079121553394024223-70f331aba40b4ae58fe9e1af832e31b9K8388834")


def test_chat_id_pattern_refuses_other_shapes():
    assert not ids.CHAT_ID_PATTERN.match("H307912155339402422-70f331aba40b4ae58fe9e1af832e31b9K8388834")
    assert not ids.CHAT_ID_PATTERN.match("H3079121553394024223-70F331ABA40B4AE58FE9E1AF832E31B9K8388834")
    assert not ids.CHAT_ID_PATTERN.match("H3079121553394024223-70f331aba40b4ae58fe9e1af832e31b9K838883")
    assert not ids.CHAT_ID_PATTERN.match("../etc/passwd")


def test_random_hex_part_differs_between_calls():
    # 128 random bits: two calls (let alone a thousand) never share the middle part.
    middles = {ids.new_chat_id().split("-")[1][:32] for _ in range(1000)}
    assert len(middles) == 1000


def test_hex_part_is_128_bits():
    middle = ids.new_chat_id().split("-")[1]
    assert len(middle[: middle.index("K")]) == 32


def test_visit_id_is_head_plus_tail():
    chat_id = "H3079121553394024223-70f331aba40b4ae58fe9e1af832e31b9K8388834"
    assert ids.visit_id(chat_id) == "H3079121553394024223K8388834"


def test_visit_id_of_a_new_chat_id():
    chat_id = ids.new_chat_id()
    head = chat_id.split("-")[0]
    tail = chat_id[chat_id.index("K") :]
    assert ids.visit_id(chat_id) == head + tail


def test_new_number_is_positive_and_exact_as_a_double():
    for _ in range(1000):
        number = ids.new_number()
        assert 0 < number <= MAX_SAFE
        assert int(float(number)) == number


def test_max_safe_integer():
    assert ids.MAX_SAFE_INTEGER == 9007199254740991


def test_new_number_honours_its_bounds():
    assert all(5 <= ids.new_number(5, 6) <= 6 for _ in range(100))
    assert ids.new_number(7, 7) == 7


def test_session_numbers_are_digits_only():
    for _ in range(200):
        number = ids.new_session_number()
        assert re.fullmatch(r"[1-9][0-9]*", str(number))
        assert number <= MAX_SAFE


def test_tokens_are_long_and_distinct():
    tokens = {ids.new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(re.fullmatch(r"[0-9a-f]{64}", token) for token in tokens)


def test_app_key_has_the_published_key_shape():
    # Same shape as LivePerson's global key 721c180b09eb463d9f3191c41762bb68.
    assert re.fullmatch(r"[0-9a-f]{32}", ids.new_app_key())


def test_digest_is_stable_and_not_the_secret():
    secret = "721c180b09eb463d9f3191c41762bb68"
    assert ids.digest(secret) == ids.digest(secret)
    assert ids.digest(secret) != secret
    assert secret not in ids.digest(secret)
    assert ids.digest(secret) != ids.digest(secret + "x")
