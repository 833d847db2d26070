"""The web page students check their answers in (``derive serve``).

* :mod:`derive.web.page` is pure: a verified solution becomes a :class:`~derive.web.page.Sheet`
  (sections of labelled boxes in the sheet's notation as MathML, each with its worked line), and
  a submitted form becomes the :class:`~derive.quantities.StudentAnswers` ``derive check`` marks;
* :mod:`derive.web.drawing` draws the network as SVG, every weight and bias on it;
* :mod:`derive.web.app` is the ASGI app (Starlette, Jinja2 templates with autoescaping) over the
  sheets loaded, solved and verified once at start; uvicorn serves it.
"""
