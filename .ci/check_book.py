"""Open the built book in headless Chromium, offline, and check what a reader would see.

Usage: python .ci/check_book.py _build/html [page ...]

For each page (default: every chapter listed in _toc.yml): MathJax 3 loads from the book's own
_static folder with all network access refused, every equation is typeset (no raw TeX left, no
MathJax errors), every image has loaded, and no nbdev markup (`#|`) shows.
"""
import re
import sys
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ROOT = Path(__file__).resolve().parent.parent


def chapters():
    "Chapter documents in _toc.yml order (notebooks only)."
    toc = (ROOT / '_toc.yml').read_text()
    docs = re.findall(r'(?:root|file):\s*(\S+)', toc)
    return [d for d in docs if (ROOT / f'{d}.ipynb').exists()]


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = '/usr/bin/chromium'
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync',
                 '--no-first-run', '--disable-quic', '--window-size=1280,2000',
                 '--allow-file-access-from-files',
                 # A classroom without internet: every host name fails to resolve.
                 '--host-resolver-rules=MAP * ~NOTFOUND'):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service('/usr/bin/chromedriver'), options=opts)


def check_page(driver, html):
    problems = []
    driver.get(html.as_uri())
    driver.set_script_timeout(60)
    n_math = len(driver.find_elements(By.CSS_SELECTOR, '.math'))
    ok = n_math == 0 or driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const wait = (t) => {
          if (window.MathJax && MathJax.startup && MathJax.startup.promise)
            MathJax.startup.promise.then(() => done(true), () => done(false));
          else if (t > 200) done(false); else setTimeout(() => wait(t + 1), 100);
        };
        wait(0);""")
    if not ok: return [f"{html.name}: MathJax did not start (is _static/mathjax there?)"], 0
    src = driver.execute_script(
        "return Array.from(document.scripts).map(s => s.src).filter(s => /mathjax/i.test(s));")
    if n_math and (not src or any(not s.startswith('file://') for s in src)):
        problems.append(f"{html.name}: MathJax not loaded from the book's own files: {src}")
    n_typeset = len(driver.find_elements(By.CSS_SELECTOR, 'mjx-container'))
    n_errors = len(driver.find_elements(By.CSS_SELECTOR, 'mjx-merror'))
    if n_typeset < n_math: problems.append(f"{html.name}: {n_math - n_typeset} of {n_math} equations not typeset")
    if n_errors: problems.append(f"{html.name}: {n_errors} MathJax errors")
    text = driver.find_element(By.CSS_SELECTOR, 'main').text
    for raw in (r'\(', r'\[', '$$', r'\frac', r'\sum', '#|'):
        if raw in text: problems.append(f"{html.name}: raw {raw!r} visible in the page")
    images = driver.execute_script(
        "return Array.from(document.querySelectorAll('main img')).map(i => [i.src, i.complete && i.naturalWidth > 0]);")
    problems += [f"{html.name}: image failed to load: {s}" for s, loaded in images if not loaded]
    print(f"{html.relative_to(ROOT) if html.is_relative_to(ROOT) else html}: "
          f"{n_typeset} equations typeset, {len(images)} images loaded")
    return problems, n_typeset


def main(build, pages):
    build = Path(build).resolve()
    pages = pages or chapters()
    driver = browser()
    try:
        results = [check_page(driver, build / f'{page}.html') for page in pages]
    finally:
        driver.quit()
    problems = [p for page_problems, _ in results for p in page_problems]
    if sum(n for _, n in results) == 0: problems.append("no typeset equation in the whole book")
    if problems:
        print('\n'.join(['FAIL:'] + problems)); sys.exit(1)
    print(f"ok: {len(pages)} pages checked in headless Chromium, offline")


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])
