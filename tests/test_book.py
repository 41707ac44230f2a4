"""The book: built offline from the checkout, then read in headless Chromium.

One build (warnings are errors, a failing cell fails it) into a temporary folder, served
on 127.0.0.1; every page is opened once and what the tests need is recorded: title,
images, links, every request, script errors, a screenshot (in <build>/screenshots/).
"""
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")  # Debian's package; elsewhere set CHROMIUM
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update"]
IN_CI = os.environ.get("CI", "").lower() == "true"

pytestmark = pytest.mark.slow


def missing(reason):
    """Fail under CI=true (the CI installs everything), skip with the reason otherwise."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the CI must install it)")
    pytest.skip(reason)


def jupyter_book():
    found = shutil.which("jupyter-book") or shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    if not found:
        missing("jupyter-book is not installed: pip install -e '.[book]'")
    return found


# Run at each kernel's start (an IPython startup file): every figure the kernel shows as a PNG
# is recorded with the size of its smallest text in the PNG's pixels, under the SHA-256 of the
# PNG's bytes, which is the name myst-nb gives the image in _images/.
FIGURE_TEXT_STARTUP = """
import base64, hashlib, json, os
from IPython.core import pylabtools

_print_figure = pylabtools.print_figure


def _print_and_record(fig, fmt="png", *args, **kwargs):
    data = _print_figure(fig, fmt, *args, **kwargs)
    if data is not None and fmt == "png":
        from matplotlib.text import Text

        png = base64.b64decode(data) if isinstance(data, str) else data
        dpi = kwargs.get("dpi") or fig.dpi
        texts = [(t.get_fontsize() * dpi / 72, t.get_text()) for t in fig.findobj(Text)
                 if t.get_visible() and t.get_text().strip()]
        smallest = min(texts) if texts else (None, "")
        with open(os.environ["BOOK_FIGURE_TEXT"], "a", encoding="utf-8") as log:
            log.write(json.dumps({"sha256": hashlib.sha256(png).hexdigest(), "px": smallest[0],
                                  "text": smallest[1][:40]}) + "\\n")
    return data


pylabtools.print_figure = _print_and_record  # before the inline backend binds it (%matplotlib inline)
"""


def build(source: Path, out: Path) -> subprocess.CompletedProcess:
    """`jupyter-book build` as the instructors' page gives it, offline, on the synthetic data.

    The kernels record their figures' smallest text in <out>/figure_text.jsonl (see above)."""
    startup = out / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-figure-text.py").write_text(FIGURE_TEXT_STARTUP)
    env = dict(os.environ, COURSEKIT_OFFLINE="1", COURSEKIT_DATA=str(out / "data"), PYTHONUNBUFFERED="1",
               IPYTHONDIR=str(out / "ipython"), BOOK_FIGURE_TEXT=str(out / "figure_text.jsonl"))
    env.pop("COURSE_DATA", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # the kernel is this Python
    command = [jupyter_book(), "build", str(source), "-W", "-n", "--keep-going", "--path-output", str(out)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)


def tail(result, lines=60):
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The book's HTML folder, built from the checkout into a temporary folder."""
    out = tmp_path_factory.mktemp("book")
    start = time.perf_counter()
    result = build(BOOK, out)
    print(f"book built in {time.perf_counter() - start:.1f} s into {out}")
    assert result.returncode == 0, f"jupyter-book build failed:\n{tail(result)}"
    return out / "_build" / "html"


class Anchors(HTMLParser):
    """The ids (and a names) a URL fragment can point at."""

    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)


@functools.lru_cache(maxsize=None)
def anchors(path: Path) -> frozenset:
    parser = Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return frozenset(parser.ids)


def toc_pages():
    """{html name: title} of the pages in _toc.yml, the title read from each source's first heading."""
    names = re.findall(r"^\s*(?:root|- file):\s*(\S+)", (BOOK / "_toc.yml").read_text(), re.M)
    titles = {}
    for name in names:
        heading = re.search(r"^# (.+)$", (BOOK / f"{name}.md").read_text(encoding="utf-8"), re.M)
        titles[f"{name}.html"] = heading.group(1).strip()
    return titles


class Server(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(built):
    """The built folder served on 127.0.0.1; yields its base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Server, directory=str(built)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        missing(f"{CHROMIUM} not found: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed: pip install playwright")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


H1_JS = """() => [...document.querySelectorAll('main h1')]
  .map(h => h.innerText.replace(/[#¶\\s]+$/, '').trim()).find(text => text) || ''"""  # genindex has an empty h1 first
TYPESET_JS = "() => !document.querySelector('span.math, div.math') || document.querySelector('mjx-container')"
PAGE_WIDTH_JS = "() => document.documentElement.scrollWidth"
# Output and table boxes whose content is wider than the box: numbers hidden behind a scroll bar.
# (Code input may scroll in its own box; printed results and tables must fit.)
CUT_OFF_JS = """() => [...document.querySelectorAll(
    'div.cell_output pre, div.output pre, .pst-scrollable-table-container, div.table-wrapper')]
  .filter(box => box.scrollWidth > box.clientWidth + 1)
  .map(box => `${box.scrollWidth} px in ${box.clientWidth} px: ${box.innerText.trim().slice(0, 60)}`)"""
PHONE = {"width": 390, "height": 844}
IMAGES_JS = """async () => {
  const images = [...document.images];
  await Promise.all(images.map(img => { img.loading = 'eager'; return img.decode().catch(() => null); }));
  const column = document.querySelector('article') || document.body;  // a hidden tab's image: as wide as it would show
  return images.map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth,
    shown: img.offsetParent ? img.getBoundingClientRect().width : Math.min(img.naturalWidth, column.clientWidth)}));
}"""


@pytest.fixture(scope="module")
def pages(browser, built, site):  # browser first: no Chromium, no build
    """Every built page opened once: {name: what the page showed and asked for}."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    shots = built.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    external = []

    def route(route):
        url = route.request.url
        if url.startswith(site):
            route.continue_()
        else:  # never let a request leave the machine; record it instead
            external.append(url)
            route.abort()

    context.route("**/*", route)
    found = {}
    for path in sorted(built.glob("*.html")):
        page = context.new_page()
        requests, errors = [], []
        page.on("request", lambda request: requests.append(request.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        before = len(external)
        page.goto(site + path.name, wait_until="networkidle")
        try:  # MathJax typesets after load; a page without math has nothing to wait for
            page.wait_for_function(TYPESET_JS, timeout=15_000)
        except PlaywrightTimeout:
            pass  # test_no_script_errors_and_math_is_typeset reports it
        found[path.name] = {
            "url": page.url,
            "title": page.title(),
            "h1": page.evaluate(H1_JS),
            "images": page.evaluate(IMAGES_JS),
            "links": page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"),
            "math": page.locator("mjx-container").count(),
            "requests": requests,
            "external": external[before:],
            "errors": errors,
            "cut_off": page.evaluate(CUT_OFF_JS),
        }
        page.screenshot(path=str(shots / f"{path.stem}.png"), full_page=True)
        page.close()
    context.close()
    phone = browser.new_context(viewport=PHONE)
    phone.route("**/*", lambda route: route.continue_() if route.request.url.startswith(site) else route.abort())
    for path in sorted(built.glob("*.html")):
        page = phone.new_page()
        page.goto(site + path.name, wait_until="networkidle")
        try:
            page.wait_for_function(TYPESET_JS, timeout=15_000)
        except PlaywrightTimeout:
            pass
        found[path.name]["phone_width"] = page.evaluate(PAGE_WIDTH_JS)
        found[path.name]["phone_cut_off"] = page.evaluate(CUT_OFF_JS)
        page.screenshot(path=str(shots / f"{path.stem}-phone.png"), full_page=True)
        page.close()
    phone.close()
    return found


def test_every_page_has_its_title(pages):
    expected = toc_pages()
    assert set(expected) <= set(pages), f"pages in _toc.yml but not built: {set(expected) - set(pages)}"
    assert pages["index.html"]["url"].endswith("/intro.html"), "index.html should redirect to the root page"
    for name, seen in pages.items():
        if name == "index.html":
            continue
        assert seen["h1"], f"{name} has no heading"
        assert seen["title"].startswith(seen["h1"]), f"{name}: title {seen['title']!r} is not its heading {seen['h1']!r}"
        if name in expected:
            assert seen["h1"] == expected[name], f"{name}: heading {seen['h1']!r}, source says {expected[name]!r}"


def test_every_image_loads(pages):
    broken = [(name, image["src"]) for name, seen in pages.items() for image in seen["images"] if image["width"] == 0]
    assert not broken, f"images that did not load: {broken}"
    figures = [image for image in pages["pytorch_data.html"]["images"] if "_images/" in image["src"]]
    assert len(figures) >= 4, f"the PyTorch data chapter should show its 4 figures, shows {len(figures)}"


MIN_FIGURE_TEXT_PX = 9  # the smallest text a figure may show at the book's desktop width


def test_figure_text_is_readable_at_desktop_width(pages, built):
    """Each executed figure's smallest text, in the PNG's pixels times the width shown / natural width."""
    import json

    lines = (built.parent.parent / "figure_text.jsonl").read_text(encoding="utf-8").splitlines()
    recorded = {entry["sha256"]: entry for entry in map(json.loads, lines)}
    small, unknown, measured = [], [], 0
    for name, seen in pages.items():
        for image in seen["images"]:
            stem = Path(urlsplit(image["src"]).path).stem
            if "/_images/" not in image["src"] or not re.fullmatch(r"[0-9a-f]{64}", stem):
                continue  # not a figure a cell made (myst-nb names those by their SHA-256)
            if stem not in recorded:
                unknown.append(f"{name}: {stem[:12]}")
                continue
            entry = recorded[stem]
            if entry["px"] is None:
                continue  # a figure without text
            measured += 1
            px = entry["px"] * image["shown"] / image["width"]
            if px < MIN_FIGURE_TEXT_PX:
                small.append(f"{name}: {px:.1f} px ({entry['text']!r}, {image['width']} px shown at {image['shown']:.0f})")
    assert not unknown, f"figures whose text was not recorded by the kernels: {unknown}"
    assert measured >= 10, f"only {measured} figures with text measured: the recording does not work"
    assert not small, f"figure text under {MIN_FIGURE_TEXT_PX} px at desktop width:\n" + "\n".join(small)


def test_no_script_errors_and_math_is_typeset(pages):
    errors = {name: seen["errors"] for name, seen in pages.items() if seen["errors"]}
    assert not errors, f"JavaScript errors: {errors}"
    assert pages["pytorch_data.html"]["math"] > 0, "MathJax (bundled in book/_vendor/mathjax) did not typeset the chapter's math"


def glued(built, page) -> dict:
    """{name: value} of what an executed page glued (myst-nb's <page>.glue.json), plain values only."""
    import json

    raw = json.loads((built.parent / "jupyter_execute" / f"{page}.glue.json").read_text(encoding="utf-8"))
    return {name: output["data"]["text/plain"] for name, output in raw.items() if "text/markdown" not in output["data"]}


def test_distilled_student_beats_the_student_alone(built):
    values = {name: float(value) for name, value in glued(built, "distillation").items()
              if name in ("gain", "gain_std", "alone_accuracy_std", "distilled_accuracy_std")}
    spread = max(values["gain_std"], values["alone_accuracy_std"], values["distilled_accuracy_std"])
    assert values["gain"] > spread, (f"distillation should gain more accuracy than the spread over seeds: "
                                     f"gain {values['gain']:+.3f}, spread {spread:.3f}")


def test_the_pretrained_base_beats_the_random_one(built):
    """Offline the pretrained base is the course's stand-in: it must still show transfer."""
    values = {name: float(value) for name, value in glued(built, "transfer").items()
              if name in ("transfer_gain", "transfer_gain_std", "pretrained_accuracy_std", "random_accuracy_std")}
    spread = max(values["transfer_gain_std"], values["pretrained_accuracy_std"], values["random_accuracy_std"])
    assert values["transfer_gain"] > spread, (f"the pretrained base should beat the random one by more than the "
                                              f"spread over seeds: gain {values['transfer_gain']:+.3f}, "
                                              f"spread {spread:.3f}")


CHAPTERS = ("pytorch_data", "unet", "transfer", "distillation")
LOADERS = re.compile(r"\b(fetch|pets_dir|isbi_dir|petimages_dir|fashion_root)\(")  # what may download


def test_each_chapter_downloads_in_one_cell_of_its_own(built):
    """One executed cell fetches a chapter's data (offline: one line saying it is the synthetic set); no other
    cell calls a loader that may download."""
    import json

    for page in CHAPTERS:
        notebook = json.loads((built.parent / "jupyter_execute" / f"{page}.ipynb").read_text(encoding="utf-8"))
        cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
        loading = [cell for cell in cells if LOADERS.search("".join(cell["source"]))]
        assert len(loading) == 1, f"{page}: {len(loading)} cells call a loader that may download, not one"
        printed = "".join("".join(out.get("text", "")) for out in loading[0]["outputs"])
        assert "COURSE_DATA=synthetic: the course's synthetic" in printed, f"{page}'s download cell printed {printed!r}"
        source = "".join(loading[0]["source"])
        assert not re.search(r"\b(fit|train_step|backward)\(", source), f"{page}'s download cell also trains"


def test_no_page_is_wider_than_a_phone(pages):
    wide = {name: seen["phone_width"] for name, seen in pages.items() if seen["phone_width"] > PHONE["width"]}
    assert not wide, f"pages wider than a {PHONE['width']} px phone (px): {wide}"


def test_no_output_or_table_is_cut_off(pages):
    cut = {name: seen["cut_off"] for name, seen in pages.items() if seen["cut_off"]}
    assert not cut, f"outputs or tables wider than their box at desktop width: {cut}"
    cut = {name: seen["phone_cut_off"] for name, seen in pages.items() if seen["phone_cut_off"]}
    assert not cut, f"outputs or tables wider than their box on a {PHONE['width']} px phone: {cut}"


def test_no_request_leaves_the_machine(pages, site):
    external = {name: seen["external"] for name, seen in pages.items() if seen["external"]}
    assert not external, f"requests to other hosts (blocked by the test): {external}"
    local = [url for seen in pages.values() for url in seen["requests"] if url.startswith(site)]
    assert any("mathjax" in url for url in local), "the bundled MathJax was not requested"


def test_internal_links_resolve(pages, built, site):
    broken = []
    for name, seen in pages.items():
        for link in seen["links"]:
            if not link.startswith(site):
                continue  # external (repository, Binder, Colab, pytorch.org): listed in the page, not followed
            url, fragment = urldefrag(link)
            target = built / unquote(urlsplit(url).path).lstrip("/")
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{name}: {link} (no such file)")
            elif fragment and target.suffix == ".html" and unquote(fragment) not in anchors(target):
                broken.append(f"{name}: {link} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken)
    chapter_links = [link for link in pages["intro.html"]["links"] if link.startswith(site + "pytorch_data.html")]
    assert chapter_links, "the intro page should link the chapter"


def test_one_tab_click_switches_every_tab_set(browser, site):
    page = browser.new_page()
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(site) else route.abort())
    page.goto(site + "pytorch_data.html", wait_until="networkidle")
    tab_sets = page.locator(".sd-tab-set")
    assert tab_sets.count() >= 3, "the chapter should have its framework tab sets"

    def chosen():
        return page.eval_on_selector_all(
            ".sd-tab-set", "sets => sets.map(s => s.querySelector('input:checked + label').dataset.syncId)")

    def shown(framework):
        labels = page.locator(f".sd-tab-set label[data-sync-id='{framework}']")
        return [labels.nth(i).locator("xpath=following-sibling::div[1]").is_visible() for i in range(labels.count())]

    assert set(chosen()) == {"pytorch"}, f"the PyTorch chapter should open on its PyTorch tabs, got {chosen()}"
    assert all(shown("pytorch")) and not any(shown("keras")), "the PyTorch code should show, the Keras code hide"
    page.locator("label[data-sync-id='keras']").first.click()
    assert set(chosen()) == {"keras"}, f"one click on Keras should switch every tab set, got {chosen()}"
    assert all(shown("keras")) and not any(shown("pytorch")), "the Keras code should show, the PyTorch code hide"
    page.reload(wait_until="networkidle")
    assert set(chosen()) == {"keras"}, "the choice should persist across pages (sphinx-design's localStorage)"
    page.close()


def mini_book(tmp_path: Path, page: str) -> Path:
    """A one-page book with the course's own _config.yml."""
    source = tmp_path / "book"
    source.mkdir()
    shutil.copy(BOOK / "_config.yml", source / "_config.yml")
    for folder in ("_ext", "_vendor", "_css"):  # the local extension and the static folders it names
        shutil.copytree(BOOK / folder, source / folder)
    (source / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (source / "intro.md").write_text(page)
    return source


HEADER = "---\njupytext:\n  text_representation:\n    format_name: myst\nkernelspec:\n  name: python3\n---\n\n"


@pytest.mark.parametrize("page, says", [
    (HEADER + "# Fails\n\n```{code-cell} ipython3\nraise RuntimeError('this cell fails')\n```\n", "this cell fails"),
    ("# Warns\n\nSee {doc}`no_such_page`.\n", "no_such_page"),  # plain Markdown: no kernel started
], ids=["cell-error", "broken-reference"])
def test_the_build_fails_on_a_cell_error_or_a_warning(tmp_path, page, says):
    result = build(mini_book(tmp_path, page), tmp_path / "out")
    assert result.returncode != 0, f"the build should fail:\n{tail(result)}"
    assert says in result.stdout + result.stderr
