"""The files of a published rating revision, in Russian (issue 25): the month's summary, a page per
group, a card per body, the methodology, XLSX, CSV for Excel and for machines, JSON and PDF.

``files.render_files`` assembles them; each module has one job: ``config`` (the settings and phrase
tables of ``config/publication/``), ``queries`` (what the warehouse holds), ``model`` (groups,
places, movers, the summary), ``cards`` (a body's card), ``charts`` (inline SVG), ``html`` (Jinja2
templates), ``xlsx``, ``csv_files``, ``pdf`` (headless Chromium), ``slugs`` (file names) and
``hooks`` (what other parts of the rating contribute: trends, municipalities, degeneracies, a
revision's changes). The atomic staged publication is ``gospublic.rating.publish``.
"""
