"""QR codes: attribution, tracked links, allow-list and images that decode from a distance."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from signage import qr as qrmod
from signage.model import Attribution, QRCode

SURVEY = "https://encuestas.example.gov.co/satisfaccion"
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def test_attribution_added_with_utm_defaults():
    url = qrmod.attributed_url(QRCode(SURVEY), Attribution(), "lobby-1", "lobby", "eficiencia")
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.netloc == "encuestas.example.gov.co"
    assert parts.path == "/satisfaccion"
    assert parse_qsl(parts.query) == [
        ("utm_source", "lobby-1"),
        ("utm_medium", "pantalla"),
        ("utm_campaign", "lobby"),
        ("utm_content", "eficiencia"),
    ]


def test_author_query_and_fragment_kept_byte_for_byte():
    author = SURVEY + "?form=Q%2F7&lang=es&empty=#seccion-2"
    url = qrmod.attributed_url(QRCode(author), Attribution(), "s1", "p", "x")
    assert url.startswith(SURVEY + "?form=Q%2F7&lang=es&empty=&utm_source=s1")
    assert url.endswith("#seccion-2")
    assert urlsplit(url).fragment == "seccion-2"


def test_author_parameter_wins_and_is_never_duplicated():
    author = SURVEY + "?utm_source=boletin&utm_content="
    url = qrmod.attributed_url(QRCode(author), Attribution(), "lobby-1", "lobby", "eficiencia")
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    names = [name for name, _ in pairs]
    assert names.count("utm_source") == 1
    assert names.count("utm_content") == 1
    assert dict(pairs)["utm_source"] == "boletin"
    assert dict(pairs)["utm_content"] == ""
    assert dict(pairs)["utm_campaign"] == "lobby"


def test_custom_names_and_left_out_parameters():
    attribution = Attribution(screen="pantalla", playlist=None, slide="diapositiva", medium=None)
    url = qrmod.attributed_url(QRCode(SURVEY), attribution, "sala 2", "lobby", "café&más")
    pairs = parse_qsl(urlsplit(url).query)
    assert pairs == [("pantalla", "sala 2"), ("diapositiva", "café&más")]
    assert " " not in url
    assert "&más" not in url  # the ampersand inside a value is escaped


def test_nothing_to_add_returns_the_author_url_unchanged():
    attribution = Attribution(screen=None, playlist=None, slide=None, medium=None)
    assert qrmod.attributed_url(QRCode(SURVEY + "?a=1"), attribution, "s", "p", "x") == (
        SURVEY + "?a=1"
    )


def test_track_code_is_deterministic_short_and_specific():
    code = qrmod.track_code("lobby", "eficiencia", SURVEY)
    assert code == qrmod.track_code("lobby", "eficiencia", SURVEY)
    assert len(code) == 10
    assert code.isalnum()
    assert code == code.lower()
    others = {
        qrmod.track_code("lobby", "otra", SURVEY),
        qrmod.track_code("sala", "eficiencia", SURVEY),
        qrmod.track_code("lobby", "eficiencia", SURVEY + "?v=2"),
    }
    assert code not in others
    assert len(others) == 3


def test_encoded_url_tracked_with_link_base_is_short_hub_link():
    qr = QRCode(SURVEY + "?lang=es", track=True)
    url = qrmod.encoded_url(
        qr, Attribution(), "lobby 1", "lobby", "eficiencia", link_base="https://hub.example/"
    )
    code = qrmod.track_code("lobby", "eficiencia", SURVEY + "?lang=es")
    assert url == f"https://hub.example/q/{code}?s=lobby%201"


def test_encoded_url_untracked_ignores_link_base():
    qr = QRCode(SURVEY)
    url = qrmod.encoded_url(qr, Attribution(), "s1", "p", "x", link_base="https://hub.example")
    assert url == qrmod.attributed_url(qr, Attribution(), "s1", "p", "x")


def test_tracked_without_link_base_falls_back_and_logs_once(caplog):
    qr = QRCode(SURVEY, track=True)
    with caplog.at_level(logging.WARNING, logger="signage.qr"):
        first = qrmod.encoded_url(qr, Attribution(), "s1", "fallback-pl", "x", link_base=None)
        second = qrmod.encoded_url(qr, Attribution(), "s2", "fallback-pl", "x", link_base=None)
    assert first == qrmod.attributed_url(qr, Attribution(), "s1", "fallback-pl", "x")
    assert "utm_source=s2" in second
    warnings = [r for r in caplog.records if "fallback-pl/x" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize(
    ("screen", "ok"),
    [
        ("lobby-1", True),
        ("sala_2.piso.3", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("", False),
        ("lobby/../etc", False),
        ("a b", False),
        ("<script>", False),
    ],
)
def test_safe_screen_id(screen, ok):
    assert (qrmod.safe_screen_id(screen) == screen) is ok


def test_allow_list_refuses_http_and_unlisted_hosts(caplog):
    hosts = frozenset({"encuestas.example.gov.co"})
    assert qrmod.drawable(SURVEY, hosts)
    assert qrmod.drawable(SURVEY, frozenset())  # no list: any https host
    with caplog.at_level(logging.WARNING, logger="signage.qr"):
        assert not qrmod.drawable("http://encuestas.example.gov.co/satisfaccion", hosts)
        assert not qrmod.drawable("http://encuestas.example.gov.co/satisfaccion", frozenset())
        assert not qrmod.drawable("https://phishing.example.com/login", hosts)
        assert not qrmod.drawable("javascript:alert(1)", frozenset())
    assert qrmod.check_url("https://phishing.example.com/login", hosts) is not None
    assert sum("QR not drawn" in r.getMessage() for r in caplog.records) == 4


def _colours(img: Image.Image) -> set[object]:
    return {c for _, c in img.getcolors(maxcolors=1 << 16) or []}


@pytest.mark.parametrize("height", [720, 1080, 2160])
def test_image_is_pixel_exact_black_on_white_with_quiet_zone(height):
    url = qrmod.tracked_link("https://hub.example", "abcdefghij", "lobby-1")
    layout = qrmod.qr_layout(url, height)
    img = qrmod.qr_image(url, height)
    assert img.mode == "RGB"
    assert img.size == (layout.side_px, layout.side_px)
    assert layout.side_px == layout.modules * layout.module_px
    assert layout.modules == 17 + 4 * layout.version + 2 * qrmod.QUIET_ZONE_MODULES
    assert layout.module_px >= qrmod.min_module_px(height) >= 8 * height // 1080
    assert _colours(img) == {(0, 0, 0), (255, 255, 255)}
    quiet = qrmod.QUIET_ZONE_MODULES * layout.module_px
    for box in (
        (0, 0, img.width, quiet),
        (0, 0, quiet, img.height),
        (img.width - quiet, 0, img.width, img.height),
        (0, img.height - quiet, img.width, img.height),
    ):
        assert _colours(img.crop(box)) == {(255, 255, 255)}
    # Every module is a uniform square: sampling module centres rebuilds the image exactly.
    n, m = layout.modules, layout.module_px
    centres = img.resize((n, n), Image.Resampling.NEAREST, box=(0, 0, n * m, n * m))
    assert centres.resize(img.size, Image.Resampling.NEAREST).tobytes() == img.tobytes()


def test_short_links_get_bigger_modules_than_long_urls():
    short = qrmod.tracked_link("https://hub.example", "abcdefghij", "lobby-1")
    long = qrmod.attributed_url(
        QRCode(SURVEY + "?formulario=satisfaccion-intranet-2027&idioma=es"),
        Attribution(),
        "lobby-principal-piso-1",
        "lobby-principal",
        "webinar-ciberseguridad",
    )
    small, big = qrmod.qr_layout(short, 1080), qrmod.qr_layout(long, 1080)
    assert small.module_px > big.module_px
    assert small.side_px <= 0.40 * 1080


@pytest.mark.parametrize("length", [10, 14, 30, 49, 80, 150, 400])
def test_error_correction_is_the_highest_level_among_the_largest_modules(length):
    url = "https://h.co/" + "a" * (length - 13)
    chosen = qrmod.qr_layout(url, 1080)
    options = [layout for layout, _ in qrmod._layouts(url, 1080)]
    assert [o.level for o in options] == ["H", "Q", "M", "L"]
    fitting = [o for o in options if o.side_px <= 0.40 * 1080]
    if not fitting:  # even 8 px modules overflow: the smallest symbol wins
        assert chosen.side_px == min(o.side_px for o in options)
        assert chosen.module_px == qrmod.min_module_px(1080)
        return
    best = max(o.module_px for o in fitting)
    assert chosen.module_px == best
    assert chosen.level == next(o.level for o in fitting if o.module_px == best)


def test_too_long_url_is_a_clear_value_error():
    with pytest.raises(ValueError, match="too long for a QR code"):
        qrmod.qr_image("https://a.example/" + "x" * 5000, 1080)
    with pytest.raises(ValueError, match="positive"):
        qrmod.qr_image(SURVEY, 0)


def _slide_background(kind: str) -> Image.Image:
    """A 1920x1080 slide: dark theme, busy diagonal stripes, or a white infographic."""
    if kind == "white":
        return Image.new("RGB", (1920, 1080), (250, 250, 250))
    img = Image.new("RGB", (1920, 1080), (11, 37, 69))
    if kind == "busy":
        draw = ImageDraw.Draw(img)
        for x in range(-1080, 1920, 36):
            draw.line([(x, 0), (x + 1080, 1080)], fill=(244, 180, 0), width=10)
        for y in range(0, 1080, 90):
            draw.rectangle([0, y, 1920, y + 20], fill=(0, 0, 0))
    return img


def _render_with_overlay(background: Image.Image, url: str, caption: str) -> Image.Image:
    """The slide as the player's QR overlay lays it out: a white plate in the lower right
    corner holding the pixel-exact QR and its caption under it (no Qt player landed yet)."""
    slide = background.copy()
    height = slide.height
    code = qrmod.qr_image(url, height)
    font = ImageFont.truetype(DEJAVU, max(18, height // 40))
    draw = ImageDraw.Draw(slide)
    pad = height // 45
    caption_h = int(font.size) + pad
    plate_w, plate_h = code.width + 2 * pad, code.height + 2 * pad + caption_h
    x0, y0 = slide.width - plate_w - pad * 2, slide.height - plate_h - pad * 2
    draw.rounded_rectangle([x0, y0, x0 + plate_w, y0 + plate_h], radius=pad, fill="white")
    slide.paste(code, (x0 + pad, y0 + pad))
    draw.text(
        (x0 + plate_w // 2, y0 + pad + code.height + pad // 2),
        caption,
        font=font,
        fill="black",
        anchor="ma",
    )
    return slide


def _decode(img: Image.Image) -> list[str]:
    found = zxingcpp.read_barcodes(img)
    return [r.text for r in found if r.format == zxingcpp.BarcodeFormat.QRCode]


@pytest.mark.parametrize("background", ["dark", "busy", "white"])
@pytest.mark.parametrize("track", [False, True])
def test_rendered_slide_decodes_at_a_third_and_a_quarter(background, track):
    qr = QRCode(SURVEY + "?form=intranet&lang=es", caption="Escanea y opina", track=track)
    url = qrmod.encoded_url(
        qr,
        Attribution(),
        "lobby-principal-piso-1",
        "lobby-principal",
        "webinar-ciberseguridad",
        link_base="https://hub.alcaldia.example.gov.co",
    )
    if not track:
        assert "utm_content=webinar-ciberseguridad" in url
        assert url.startswith(SURVEY + "?form=intranet&lang=es&")
    screenshot = _render_with_overlay(_slide_background(background), url, qr.caption or "")
    assert screenshot.size == (1920, 1080)
    for factor in (3, 4):
        # A third is what a 1080p phone preview (65°) sees from about 2.2 m of a 43" panel;
        # a quarter, from about 3 m (docs/qr.md).
        small = screenshot.resize((1920 // factor, 1080 // factor), Image.Resampling.BOX)
        assert _decode(small) == [url], f"not decoded at 1/{factor} on {background}"


_NAMES = ["utm_source", "utm_medium", "utm_campaign", "utm_content", "form", "lang", "a b", "ñ"]
_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12
)


@settings(max_examples=200, deadline=None)
@given(
    author=st.lists(st.tuples(st.sampled_from(_NAMES), _texts), max_size=5),
    fragment=st.one_of(st.none(), _texts),
    screen=_texts.filter(bool),
    slide=_texts.filter(bool),
)
def test_attribution_properties(author, fragment, screen, slide):
    query = urlencode(author)
    url = SURVEY + (f"?{query}" if query else "") + (f"#{quote(fragment)}" if fragment else "")
    out = qrmod.attributed_url(QRCode(url), Attribution(), screen, "lobby", slide)
    parts = urlsplit(out)
    assert parts.query.startswith(query)  # the author's query, untouched, first
    assert parts.fragment == (quote(fragment) if fragment else "")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    authored = {name for name, _ in author}
    ours = {"utm_source": screen, "utm_medium": "pantalla", "utm_campaign": "lobby",
            "utm_content": slide}  # fmt: skip
    for name, value in ours.items():
        values = [v for n, v in pairs if n == name]
        if name in authored:
            assert values == [v for n, v in author if n == name]  # the author wins
        else:
            assert values == [value]  # added exactly once, decoding to the real value
