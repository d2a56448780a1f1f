"""Clever single sign-on for staff and district admins (issue 7), on django-allauth's Clever provider.

Read README "Clever single sign-on" first: how a Clever identity is linked (``selectors``), the rules
applied before anyone is signed in (``rules``), and the state-less Instant Login handling
(``views.CleverCallbackView``).
"""
