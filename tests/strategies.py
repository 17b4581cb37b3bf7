"""Hypothesis strategies for what users send, shared by the tests that property-test it."""

from hypothesis import assume
from hypothesis import strategies as st

from order_service.models.bounds import EMAIL_DOMAIN_LABEL_MAX_LENGTH, EMAIL_LOCAL_PART_MAX_LENGTH, EMAIL_MAX_LENGTH


def text_of(alphabet: str, low: int, high: int) -> st.SearchStrategy[str]:
    """Strings of the alphabet, with both extreme lengths drawn often."""
    return st.one_of(
        st.text(alphabet, min_size=low, max_size=low),
        st.text(alphabet, min_size=high, max_size=high),
        st.text(alphabet, min_size=low, max_size=high),
    )


WORD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_ATEXT = WORD + "!#$%&'*+/=?^_`{|}~-"
_QTEXT = "".join(chr(code) for code in range(0x21, 0x7F) if chr(code) not in '"\\@')


@st.composite
def local_parts(draw: st.DrawFn) -> str:
    """RFC 5321 local parts: a dot-atom, or a quoted string (with quoted pairs), up to 64 characters."""
    if draw(st.booleans()):
        atoms = draw(st.lists(text_of(_ATEXT, 1, 20), min_size=1, max_size=4))
        local = ".".join(atoms)
    else:
        pieces = draw(
            st.lists(st.sampled_from(list(_QTEXT)) | st.sampled_from(['\\"', "\\\\"]), min_size=1, max_size=31)
        )
        local = '"' + "".join(pieces) + '"'
    if draw(st.booleans()):  # the longest local part
        local = (local * EMAIL_LOCAL_PART_MAX_LENGTH)[:EMAIL_LOCAL_PART_MAX_LENGTH] if local[0] != '"' else local
    assume(len(local) <= EMAIL_LOCAL_PART_MAX_LENGTH and not local.endswith("."))
    return local


@st.composite
def addresses(draw: st.DrawFn) -> str:
    local = draw(local_parts())
    labels = draw(st.lists(text_of(WORD + "-", 1, EMAIL_DOMAIN_LABEL_MAX_LENGTH), min_size=2, max_size=3))
    address = f"{local}@{'.'.join(labels)}"
    assume(len(address) <= EMAIL_MAX_LENGTH)
    return address
