"""The reference dashboard at ``/``: server-rendered page shells whose widgets read the public REST API.

Nothing here reads the database. Each page is a template; its JavaScript calls ``/api/v1/...`` with
the API key the analyst typed in, kept in the tab's ``sessionStorage`` (never in a URL or a cookie),
so the dashboard can do exactly what any API client can and nothing more.
"""
