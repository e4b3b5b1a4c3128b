"""The editor's data-slide form without a browser: the YAML it writes key by key, the bundled
data slides unchanged by a form that did not change them, the columns it offers (bounded),
data uploads checked by content, and the validator's data problems said in Spanish."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from signage.console import data_form, forms
from signage.console.uploads import UploadRefused, check_file, store
from signage.playlist import load_playlist_file

REPO = Path(__file__).resolve().parents[1]

DATA_YAML = """\
name: Datos
slides:
  - id: cifras   # a hand-written comment
    data:
      url: https://datos.example.gov.co/x.csv
      refresh: 2h
      chart: line
      title: "Respuestas"
      label: mes
      values: [a, b]
      card: "90 %"
      rows: 6
"""


def _post(form: forms.PlaylistForm, **changes: str) -> dict[str, str]:
    """The submitted form of ``form``'s first slide as the editor's controls send it."""
    slide = form.slides[0]
    d = slide.data
    post = {
        "name": form.name,
        "s0.kind": slide.kind,
        "s0.key": slide.key,
        "s0.id": slide.id,
        "s0.src": slide.src,
        "s0.title": slide.title,
        "s0.data_from": d.source,
        "s0.data_was": d.was,
        "s0.data_url": d.url,
        "s0.scans": d.scans,
        "s0.period": d.period,
        "s0.refresh": d.refresh,
        "s0.chart": d.chart,
        "s0.tag": d.tag,
        "s0.credit": d.credit,
        "s0.label": d.label,
        "s0.values": ", ".join(d.values),
        "s0.note": d.note,
        "s0.numbers": d.numbers,
        "s0.decimals": d.decimals,
        "s0.unit": d.unit,
        "s0.card": d.card,
        "s0.card_text": d.card_text,
        "s0.card_caption": d.card_caption,
        "s0.rows": d.rows,
    }
    post.update({f"s0.{k}": v for k, v in changes.items()})
    return post


def _resave(text: str, **changes: str) -> str:
    form = forms.playlist_form(forms.load_doc(text))
    post = _post(form, **changes)

    def getlist(name: str) -> list[str]:
        if name == "overlays":
            return list(form.overlays)
        return [post[name]] if name in post else []

    posted = forms.form_from_post(post, getlist)
    return forms.dump_doc(forms.apply_form(forms.load_doc(text), posted))


def test_a_posted_data_slide_unchanged_is_written_back_byte_for_byte() -> None:
    assert _resave(DATA_YAML) == DATA_YAML


def test_only_the_changed_keys_change_and_a_source_switch_drops_what_no_longer_fits() -> None:
    out = _resave(DATA_YAML, title="Respuestas por mes", values="a")
    assert 'title: "Respuestas por mes"' in out or "title: Respuestas por mes" in out
    assert "values: a\n" in out and "# a hand-written comment" in out
    assert "refresh: 2h" in out and 'card: "90 %"' in out and "rows: 6" in out
    switched = _resave(DATA_YAML, data_from="file", src="assets/datos/x.csv")
    assert "file: assets/datos/x.csv" in switched
    assert "url:" not in switched and "refresh:" not in switched
    custom = _resave(DATA_YAML, card="change")
    assert forms.load_doc(custom)["slides"][0]["data"]["card"] == "change"
    scans = _resave(DATA_YAML, data_from="scans", scans="playlist", period="week")
    assert "scans: playlist" in scans and "period: week" in scans and "url:" not in scans


def test_a_new_data_slide_writes_its_keys_in_reading_order() -> None:
    form = forms.structural(forms.PlaylistForm(name="L"), "add:data")
    slide = form.slides[0]
    slide.src, slide.title = "assets/datos/t.csv", "Tickets"
    slide.data.chart, slide.data.label, slide.data.values = "bar", "trimestre", ("tickets",)
    slide.data.decimals, slide.data.unit = "1", "%"
    out = forms.dump_doc(forms.apply_form(None, form))
    data = forms.load_doc(out)["slides"][0]["data"]
    assert list(data) == ["file", "chart", "title", "label", "values", "decimals", "unit"]
    assert data["decimals"] == 1 and data["values"] == "tickets"
    assert forms.focus_after(form, "add:data") == "s0.data_from"


@pytest.mark.parametrize("name", ["lobby.yaml", "sala-capacitacion.yaml"])
def test_the_bundled_data_slides_survive_the_form(name: str) -> None:
    text = (REPO / "playlists" / name).read_text(encoding="utf-8")
    form = forms.playlist_form(forms.load_doc(text))
    data = [s for s in form.slides if s.kind == "data"]
    assert data, f"{name} has no data slide any more"
    assert all(s.src.startswith("assets/datos/") and s.title for s in data)
    assert forms.dump_doc(forms.apply_form(forms.load_doc(text), form)) == text


def test_a_bad_column_is_located_at_its_field_in_spanish(
    tmp_path: Path, language: Callable[[str], None]
) -> None:
    language("es")  # the validator's own Spanish (signage.i18n), as the console shows it
    (tmp_path / "playlists").mkdir()
    (tmp_path / "assets" / "datos").mkdir(parents=True)
    (tmp_path / "assets" / "datos" / "t.csv").write_text("trimestre,tickets\nT1,1.240\n")
    text = (
        "name: L\nslides:\n  - id: t\n    data:\n      file: assets/datos/t.csv\n"
        "      chart: bar\n      title: T\n      label: trimestre\n      values: tikets\n"
    )
    (tmp_path / "playlists" / "l.yaml").write_text(text)
    _, problems = load_playlist_file(tmp_path / "playlists" / "l.yaml", tmp_path)
    errors = [p for p in problems if p.severity == "error"]
    assert len(errors) == 1
    assert forms.locate(forms.field_locations(text), errors[0].line, errors[0].col) == "s0.values"
    said = errors[0].message
    assert "«assets/datos/t.csv» no tiene la columna «tikets»" in said, said
    assert "¿quisiste decir «tickets»?" in said and "sus columnas son: trimestre, tickets" in said


# (the data: record of a slide, a part of what the console shows in Spanish): the
# validator's own words through the catalogs (the console's regex layer is gone)
DATA_PROBLEMS = [
    ("file: assets/t.csv, label: x, values: n", "línea 3, columna «n»: 'mil' no es un número"),
    ("file: assets/t.csv, values: n", "falta 'label': elige la columna"),
    ("file: assets/x.csv, label: x, values: n", "'assets/x.csv' no existe en"),
    ("file: a.txt, label: x, values: n", "se aceptan archivos .csv y .json"),
    ("url: 'https://a.gov.co/x.csv', refresh: 30s, label: x, values: n", "una vez por minuto"),
    ("file: assets/t.csv, label: x, values: n, decimals: 7", "7 está fuera de rango"),
    ("file: '', label: x, values: n", "se esperaba la ruta de un archivo de datos"),
]


@pytest.mark.parametrize(("data", "part"), DATA_PROBLEMS)
def test_data_problems_are_said_in_spanish(
    tmp_path: Path, language: Callable[[str], None], data: str, part: str
) -> None:
    (tmp_path / "playlists").mkdir()
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "t.csv").write_text("x,n\nuno,1\ndos,mil\n", encoding="utf-8")
    path = tmp_path / "playlists" / "l.yaml"
    path.write_text(
        f"name: L\nslides:\n  - data: {{{data}, chart: bar, title: T}}\n", encoding="utf-8"
    )
    language("es")
    _playlist, problems = load_playlist_file(path, tmp_path)
    assert any(part in p.message for p in problems), [p.message for p in problems]


def test_columns_are_read_bounded_cached_and_guessed(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    csv = tmp_path / "assets" / "t.csv"
    csv.write_text("trimestre;notas;tickets\nT1;bien;1.240\nT2;mal;1.105\n")
    reader = data_form.ColumnReader(tmp_path, None)
    form = data_form.DataFields()
    cols = reader.for_slide(form, "assets/t.csv")
    assert cols.names == ("trimestre", "notas", "tickets") and cols.numeric == ("tickets",)
    guessed = data_form.with_defaults(form, cols)
    assert (guessed.label, guessed.values) == ("trimestre", ("tickets",))
    assert reader.for_slide(form, "assets/t.csv") is cols  # unchanged file: from the cache
    big = tmp_path / "assets" / "big.csv"
    big.write_bytes(b"a,b\n" + b"x,1\n" * 300_000)  # 1.2 MB: over the validator's limit
    too_big = reader.for_slide(form, "assets/big.csv")
    assert too_big.problem == data_form.UNREADABLE and "1024 KB" in too_big.reason
    assert reader.for_slide(form, "../etc/passwd.csv").names == ()
    assert reader.for_slide(form, "assets/none.csv").problem
    outside = tmp_path.parent / f"{tmp_path.name}-outside.csv"
    outside.write_text("secreto,1\nx,1\n")
    (tmp_path / "assets" / "link.csv").symlink_to(outside)
    assert not reader.for_slide(form, "assets/link.csv").names  # safeopen: not outside
    scans = reader.for_slide(data_form.DataFields(source="scans"), "")
    assert scans.names == data_form.SCANS_COLUMNS


def test_the_hubs_last_good_remote_data_offers_its_columns(
    tmp_path: Path, language: Callable[[str], None]
) -> None:
    from signage.i18n import _

    language("es")
    from signage.data.remote import url_key

    url = "https://datos.example.gov.co/encuestas.csv"
    store_dir = tmp_path / "datos-remotos"
    store_dir.mkdir()
    (store_dir / f"{url_key(url)}.csv").write_text("mes,respuestas\nnov,312\n")
    reader = data_form.ColumnReader(tmp_path, store_dir)
    cols = reader.for_slide(data_form.DataFields(source="url", url=url), "")
    assert cols.names == ("mes", "respuestas")
    never = reader.for_slide(data_form.DataFields(source="url", url=url + "?x"), "")
    assert never.names == () and "aún no" in _(never.problem)


def test_data_uploads_are_checked_by_content_and_stored_under_datos(
    tmp_path: Path, language: Callable[[str], None]
) -> None:
    language("es")  # the refusals' Spanish wording
    root = tmp_path / "root"
    (root / "assets").mkdir(parents=True)
    received = root / "assets" / ".upload-1"
    received.write_text("mes;respuestas\nagosto;120\n", encoding="utf-8")
    path, checked = store(root, received, "Encuesta Mensual.xlsx.csv", frozenset({"data"}))
    assert (path, checked.kind, checked.media) == ("assets/datos/encuesta-mensual-xlsx.csv",
                                                   "data", "csv")  # fmt: skip
    as_json = tmp_path / "x"
    as_json.write_text('[{"mes": "agosto", "n": 1}]')
    assert check_file(as_json, frozenset({"data"})).media == "json"
    header_only = tmp_path / "h.csv"
    header_only.write_text("mes,respuestas\n")
    with pytest.raises(UploadRefused, match="no se puede leer como tabla CSV"):
        check_file(header_only, frozenset({"data"}))
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" + b"x,1\n" * 300_000)
    with pytest.raises(UploadRefused, match="el límite es 1024 KB"):
        check_file(big, frozenset({"data"}))
    picture = tmp_path / "p.png"
    shutil.copyfile(next((REPO / "assets" / "marca").glob("*.png")), picture)
    with pytest.raises(UploadRefused, match="no una tabla"):
        check_file(picture, frozenset({"data"}))
    table = tmp_path / "t.csv"
    table.write_text("a,b\nx,1\n")
    with pytest.raises(UploadRefused, match="«\\+ Datos»"):  # sent to a picture slide
        check_file(table, frozenset({"image", "video"}))


@pytest.mark.qt
def test_a_url_slide_is_previewed_with_the_data_the_hub_kept(tmp_path: Path, qapp: object) -> None:
    from datetime import UTC, datetime

    from PIL import Image

    from signage.console import previews
    from signage.data.remote import RemoteData
    from signage.playlist import load_content_root

    url = "https://intranet.cartagena.gov.co/datos/encuestas.csv"
    root = tmp_path / "root"
    (root / "playlists").mkdir(parents=True)
    playlist = root / "playlists" / "r.yaml"
    playlist.write_text(
        "name: R\nslides:\n  - id: encuestas\n    data:\n"
        f"      url: {url}\n      chart: bar\n      title: Encuestas\n"
        "      label: mes\n      values: n\n"
    )
    store = tmp_path / "hubdata" / "datos-remotos"
    body = b"mes,n\nsep,120\noct,180\nnov,312\n"
    kept_by_hub = RemoteData(store, fetcher=lambda u: (body, "csv"))
    kept_by_hub.apply(load_content_root(root), datetime(2026, 11, 28, 15, tzinfo=UTC))
    before = sorted((p.name, p.stat().st_mtime_ns) for p in store.iterdir())

    _, slide, _, kept = previews._load(root, playlist, "encuestas", store)
    assert slide.source.startswith("datos-remotos/") and kept[slide.source].read_bytes() == body
    assert slide.data.as_of is not None and slide.data.as_of.isoformat() == "2026-11-28"
    assert previews.cache_key(root, playlist, "encuestas", store) != previews.cache_key(
        root, playlist, "encuestas"
    )
    out = tmp_path / "p.png"
    previews.render_in_worker(str(root), str(playlist), "encuestas", str(out), str(store))
    image = Image.open(out).convert("RGB")
    raw = image.tobytes()
    amber = sum(
        1
        for i in range(0, len(raw), 3)
        if raw[i] > 220 and 150 < raw[i + 1] < 200 and raw[i + 2] < 90
    )
    assert amber > 15_000  # the last bar, highlighted (the never-fetched frame has ~4,400)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in store.iterdir()) == before  # read only


def test_a_scans_slide_gets_no_columns_the_hub_does_not_write() -> None:
    form = forms.structural(forms.PlaylistForm(name="L"), "add:data")
    slide = form.slides[0]
    slide.title = "Tu opinión cuenta"
    slide.data.source, slide.data.scans, slide.data.chart = "scans", "encuesta", "figure"
    slide.data.label, slide.data.values = "mes", ("respuestas",)  # left from a file chosen first
    data = forms.load_doc(forms.dump_doc(forms.apply_form(None, form)))["slides"][0]["data"]
    assert dict(data) == {"scans": "encuesta", "chart": "figure", "title": "Tu opinión cuenta"}


def test_checked_column_names_are_taken_whole_and_typed_ones_split() -> None:
    post = {"s0.values": "Ventas, miles", "s0.values_list": "1"}

    def getlist(name: str) -> list[str]:
        return ["Ventas, miles", "b"] if name == "s0.values" else []

    def get(name: str) -> str:
        return post.get(name, "")

    assert data_form.from_post(get, getlist, "s0.").values == ("Ventas, miles", "b")
    post.pop("s0.values_list")
    assert data_form.from_post(get, lambda n: [post.get(n, "")], "s0.").values == (
        "Ventas",
        "miles",
    )
