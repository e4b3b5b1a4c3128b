"""The console's words: the validator's English problems said in Spanish, dates as screens write.

The validator (``signage validate``) speaks English to people at a shell; the console
speaks Spanish to the comms team. ``spanish(message)`` matches the validator's message
shapes and rewrites them; a shape not known yet is shown as it is, after a Spanish lead-in,
so no problem is ever hidden. Pure functions only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

_Q = r"'(?P<v>(?:[^'\\]|\\.)*)'|\"(?P<w>(?:[^\"\\]|\\.)*)\""


def _val(m: re.Match[str]) -> str:
    return m.group("v") if m.group("v") is not None else (m.group("w") or "")


_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_RULES: list[_Rule] = [
    (
        re.compile(rf"^(?:{_Q}) is not a duration"),
        lambda m: f"«{_val(m)}» no es una duración; escribe por ejemplo 10s, 2m o 1m30s",
    ),
    (
        re.compile(r"^the duration is empty"),
        lambda m: "la duración está vacía; escribe por ejemplo 10s, 2m o 1m30s",
    ),
    (
        re.compile(r"^duration must be more than 0 seconds"),
        lambda m: "la duración debe ser de más de 0 segundos",
    ),
    (
        re.compile(
            rf"^(?:{_Q}) is not one of (?P<names>[^(]*?)(?: \(did you mean '(?P<h>[^']*)'\?\))?$"
        ),
        lambda m: (
            f"«{_val(m)}» no es una opción válida; opciones: {m.group('names')}"
            + (f" (¿quisiste decir «{m.group('h')}»?)" if m.group("h") else "")
        ),
    ),
    (
        re.compile(rf"^asset (?:{_Q}) does not exist"),
        lambda m: f"el archivo «{_val(m)}» no existe en la carpeta de contenido; súbelo primero",
    ),
    (
        re.compile(rf"^(?:{_Q}) is a URL; copy the file"),
        lambda m: f"«{_val(m)}» es una dirección web; sube el archivo y elígelo de la lista",
    ),
    (
        re.compile(rf"^(?:{_Q}) (?:leaves the content root|points outside|is an absolute path)"),
        lambda m: f"«{_val(m)}» está fuera de la carpeta de contenido",
    ),
    (
        re.compile(rf"^(?:{_Q}) (?:does not look like|is not) (?P<noun>an image|a video)"),
        lambda m: (
            f"«{_val(m)}» no es {'una imagen' if 'image' in m.group('noun') else 'un video'} válido"
        ),
    ),
    (
        re.compile(rf"^(?:{_Q}) is named .* but"),
        lambda m: f"«{_val(m)}»: su nombre no corresponde a su contenido; renómbralo",
    ),
    (
        re.compile(rf"^(?:{_Q}) uses (?P<s>\S+); only https"),
        lambda m: (
            f"«{_val(m)}» usa {m.group('s')}; en las pantallas solo se aceptan direcciones https://"
        ),
    ),
    (
        re.compile(rf"^(?:{_Q}) (?:has no host name|is not a valid URL)"),
        lambda m: f"«{_val(m)}» no es una dirección web válida (https://…)",
    ),
    (
        re.compile(rf"^(?:{_Q}) contains spaces"),
        lambda m: f"«{_val(m)}» tiene espacios; una dirección web no los lleva",
    ),
    (
        re.compile(rf"^host (?:{_Q}) is not on the allow-list"),
        lambda m: (
            f"el sitio «{_val(m)}» no está en la lista de sitios permitidos; pídele a TI "
            "que lo agregue"
        ),
    ),
    (
        re.compile(r"^expected an https:// URL"),
        lambda m: "escribe una dirección web que empiece por https://",
    ),
    (
        re.compile(rf"^(?:{_Q})(?::)? (?:is not a date|give only the date)"),
        lambda m: f"«{_val(m)}» no es una fecha; usa el formato dd/mm/aaaa",
    ),
    (
        re.compile(r"^'until' (?P<u>\S+) is before 'from' (?P<f>\S+)"),
        lambda m: (
            f"la fecha final ({_date(m.group('u'))}) es anterior a la inicial "
            f"({_date(m.group('f'))}): así nunca se mostraría"
        ),
    ),
    (
        re.compile(r"^none of the days .* falls between"),
        lambda m: "ninguno de los días elegidos cae entre las fechas: así nunca se mostraría",
    ),
    (
        re.compile(r"^no days listed"),
        lambda m: "no hay días marcados, así nunca se mostraría; marca días o quita el horario",
    ),
    (
        re.compile(rf"^(?:{_Q}) is not a day"),
        lambda m: f"«{_val(m)}» no es un día de la semana",
    ),
    (
        re.compile(
            r"^expected an hour window|^no hour windows listed|is not an hour window"
            r"|is not a time of day|cannot start at 24:00|starts when it ends"
        ),
        lambda m: "horas no válidas; escribe una franja como 07:00-18:00",
    ),
    (
        re.compile(r"^this schedule can never be active"),
        lambda m: "con estas fechas, días y horas nunca se mostraría; revísalas",
    ),
    (
        re.compile(r"schedule never meets its playlist's schedule"),
        lambda m: "el horario de esta diapositiva nunca coincide con el de la lista",
    ),
    (
        re.compile(r"^a slide needs one of image, video, web or text"),
        lambda m: (
            "la diapositiva no tiene contenido: elige una imagen, un video, una página o un texto"
        ),
    ),
    (
        re.compile(r"^a slide shows one thing"),
        lambda m: "una diapositiva muestra una sola cosa; sepárala en varias",
    ),
    (
        re.compile(r"^duplicate slide id '(?P<i>[^']*)'"),
        lambda m: (
            f"el identificador «{m.group('i')}» ya lo usa otra diapositiva; "
            "cada una necesita uno distinto"
        ),
    ),
    (
        re.compile(r"^text is (?P<n>\d+) characters long; at most (?P<m>\d+)"),
        lambda m: f"el texto tiene {m.group('n')} caracteres; caben como máximo {m.group('m')}",
    ),
    (
        re.compile(r"^this text is empty|^this value is empty"),
        lambda m: "este campo está vacío; escribe algo o quítalo",
    ),
    (
        re.compile(r"is missing the required key '(?P<k>[^']*)'"),
        lambda m: f"falta el campo obligatorio «{_key(m.group('k'))}»",
    ),
    (
        re.compile(r"^unknown key '(?P<k>[^']*)'"),
        lambda m: f"el campo «{m.group('k')}» no existe aquí",
    ),
    (
        re.compile(r"^the list needs at least (?P<n>\d+)"),
        lambda m: f"la lista necesita al menos {m.group('n')} elemento(s)",
    ),
    (
        re.compile(r"^the list has (?P<n>\d+) items; at most (?P<m>\d+)"),
        lambda m: f"la lista tiene {m.group('n')} elementos; como máximo {m.group('m')}",
    ),
    (
        re.compile(r"^YAML syntax"),
        lambda m: "el archivo YAML tiene un error de sintaxis",
    ),
    (
        re.compile(r"^expected true or false"),
        lambda m: "se esperaba sí o no (true/false)",
    ),
    (
        re.compile(r"^another playlist file has the id"),
        lambda m: "otro archivo de listas usa el mismo nombre; renombra uno de los dos",
    ),
]

# Data slides (the editor's "+ Datos" form): the validator's data problems in Spanish.
# Kept together here so they move to the catalogs in one piece.
_DATA_RULES: list[_Rule] = [
    (
        re.compile(
            r"^(?:(?:label|values|note): )?(?P<f>.+?) has no column '(?P<c>[^']*)'"
            r"(?: \(did you mean '(?P<h>[^']*)'\?\))?; its columns are (?P<cols>.*)$"
        ),
        lambda m: (
            f"«{m.group('f')}» no tiene la columna «{m.group('c')}»"
            + (f" (¿quisiste decir «{m.group('h')}»?)" if m.group("h") else "")
            + f"; sus columnas son: {m.group('cols').replace(chr(39), '')}"
        ),
    ),
    (
        re.compile(
            rf"^(?P<f>.+?), (?P<where>line|row) (?P<n>\d+), column '(?P<c>[^']*)': "
            rf"(?:{_Q}) is not a number"
        ),
        lambda m: (
            f"«{m.group('f')}», {'línea' if m.group('where') == 'line' else 'fila'} "
            f"{m.group('n')}, columna «{m.group('c')}»: «{_val(m)}» no es un número "
            "(escribe por ejemplo 1.240 o 5,1, o elige «sin separador de miles»)"
        ),
    ),
    (
        re.compile(r"^'label' is missing: name the column"),
        lambda m: "falta elegir la columna que nombra cada fila",
    ),
    (
        re.compile(r"^'values' is missing: name the column"),
        lambda m: "falta elegir la columna (o columnas) con los números",
    ),
    (
        re.compile(r"^expected the path of a data file"),
        lambda m: "elige un archivo de datos (.csv o .json) de la lista, o sube uno",
    ),
    (
        re.compile(r"^data needs one of 'file'"),
        lambda m: (
            "elige de dónde salen los números: un archivo CSV o JSON, una dirección https "
            "o los escaneos de un QR"
        ),
    ),
    (
        re.compile(rf"^data file (?:{_Q}) does not exist"),
        lambda m: (
            f"el archivo de datos «{_val(m)}» no existe en la carpeta de contenido; súbelo o "
            "elige otro"
        ),
    ),
    (
        re.compile(rf"^(?:{_Q}) is not a data file"),
        lambda m: f"«{_val(m)}» no es un archivo de datos; se aceptan archivos .csv y .json",
    ),
    (
        re.compile(rf"^(?:{_Q}) is a URL; write it as 'url:'"),
        lambda m: f"«{_val(m)}» es una dirección web: elige «Una dirección https» arriba",
    ),
    (
        re.compile(rf"^(?:{_Q}) must be a path inside the content root"),
        lambda m: f"«{_val(m)}» está fuera de la carpeta de contenido",
    ),
    (
        re.compile(r"^refresh at most once a minute"),
        lambda m: "se puede actualizar como mucho una vez por minuto: escribe 1m o más",
    ),
    (
        re.compile(r"^'refresh' only matters"),
        lambda m: "«Actualizar cada» solo sirve para datos de una dirección o de escaneos",
    ),
    (
        re.compile(r"^'period' only matters"),
        lambda m: "el periodo solo sirve para los escaneos de un QR",
    ),
    (
        re.compile(r"^(?P<f>.+?) is larger than (?P<n>\d+) KB"),
        lambda m: (
            f"«{m.group('f')}» pesa más de {m.group('n')} KB; una diapositiva muestra pocas "
            "filas: publica un resumen"
        ),
    ),
    (
        re.compile(r"^(?P<f>.+?), line (?P<n>\d+): (?P<a>\d+) cells but the header has (?P<b>\d+)"),
        lambda m: (
            f"«{m.group('f')}», línea {m.group('n')}: tiene {m.group('a')} celdas pero el "
            f"encabezado tiene {m.group('b')} columnas"
        ),
    ),
    (
        re.compile(r"^(?P<f>.+?): byte \d+ is not UTF-8"),
        lambda m: f"«{m.group('f')}» no está guardado como UTF-8; guárdalo como «CSV UTF-8»",
    ),
    (
        re.compile(r"^(?P<f>.+?): more than (?P<n>\d+) rows"),
        lambda m: f"«{m.group('f')}» tiene más de {m.group('n')} filas; publica un resumen",
    ),
    (
        re.compile(r"value columns; a chart draws at most (?P<n>\d+)"),
        lambda m: f"un gráfico dibuja como máximo {m.group('n')} columnas de números",
    ),
    (
        re.compile(r"^expected a whole number"),
        lambda m: "escribe un número entero",
    ),
    (
        re.compile(r"^(?P<v>-?\d+) is out of range \((?P<r>[^)]*)\)"),
        lambda m: f"{m.group('v')} está fuera del rango permitido ({m.group('r')})",
    ),
]
_RULES[:0] = _DATA_RULES

_KEYS = {
    "name": "nombre",
    "title": "título",
    "url": "dirección",
    "slides": "diapositivas",
    "chart": "gráfico",
}


def _key(key: str) -> str:
    return _KEYS.get(key, key)


def _date(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%d/%m/%Y")
    except ValueError:
        return iso


def spanish(message: str) -> str:
    """The validator's ``message`` in Spanish for the comms team."""
    for pattern, render in _RULES:
        m = pattern.search(message)
        if m:
            return render(m)
    return f"problema: {message}"


def fecha(ts: float | datetime) -> str:
    """A moment as the screens write it: ``dd/mm/aaaa HH:MM`` (24 h, local time)."""
    moment = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts)
    return moment.strftime("%d/%m/%Y %H:%M")


def duracion(seconds: float) -> str:
    """``1 min 30 s``, ``45 s``, ``1 h 2 min``."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if secs or not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)


def tamano(size: int) -> str:
    """A file size as people read it: ``850 KB``, ``3,4 MB`` (decimal comma, es-CO)."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")
