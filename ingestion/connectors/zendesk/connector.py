"""Zendesk Support tickets (as conversations) as a pull connector.

Config: ``subdomain`` (``acme`` for acme.zendesk.com) or ``base_url`` (one of the two),
``start_time`` (epoch seconds where the first export starts; default 0: the whole history),
``per_page`` (1..1000, default 100). Credentials: ``email`` + ``api_token``, or ``oauth_token``.

Cursor: ``{"start_time": T}`` before the first page, then ``{"cursor": after_cursor}`` after each
page. The page is exhausted when Zendesk says ``end_of_stream``; the stored ``after_cursor`` then
resumes the export where it stopped. A ticket comes again whenever it changes (a new reply), with
all its comments: storage, idempotent on the ticket id, updates the stored transcript.

Each ticket costs one more request for its comments. A comments request that fails for good on
that ticket alone (404: deleted or merged since the export; a malformed comments page) skips the
ticket with the reason; auth, rate-limit and transient errors fail the whole page, so the cursor
stays put and the pull is retried.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints, model_validator

from ingestion.connectors.base import Connector, ItemKind, ItemRejected, Page, RawItem, convert_items
from ingestion.connectors.errors import ConnectorPermanentError, MalformedPageError
from ingestion.connectors.wire import BaseUrl, SettingsModel, Token
from ingestion.connectors.zendesk.client import ZendeskClient
from ingestion.connectors.zendesk.parse import index_users, parse_ticket, ticket_to_item

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class ZendeskConfig(SettingsModel):
    subdomain: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] | None = None
    base_url: BaseUrl | None = None
    start_time: int = Field(default=0, ge=0)
    per_page: int = Field(default=100, ge=1, le=1000)

    @model_validator(mode="after")
    def _one_location(self) -> ZendeskConfig:
        if (self.subdomain is None) == (self.base_url is None):
            raise ValueError("give either subdomain or base_url")
        return self

    @property
    def url(self) -> str:
        return self.base_url or f"https://{self.subdomain}.zendesk.com"


class ZendeskCredentials(SettingsModel):
    # Basic auth sends "{email}/token:{api_token}": a colon in the email would shift the split.
    email: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^\s:@]+@[^\s:@]+$")] | None = (
        None
    )
    api_token: NonEmpty | None = None
    oauth_token: Token | None = None

    @model_validator(mode="after")
    def _one_scheme(self) -> ZendeskCredentials:
        token_pair = self.email is not None and self.api_token is not None
        if token_pair == (self.oauth_token is not None):
            raise ValueError("give either email and api_token, or oauth_token")
        return self


class ZendeskCursor(SettingsModel):
    cursor: NonEmpty | None = None
    start_time: int | None = Field(default=None, ge=0)


class ZendeskTicketsConnector(Connector[ZendeskConfig, ZendeskCredentials]):
    kind: ClassVar[ItemKind] = ItemKind.SUPPORT
    name: ClassVar[str] = "zendesk_tickets"
    title: ClassVar[str] = "Zendesk"
    credentials_help: ClassVar[str] = (
        "Check the source's email and API token (Admin Center > Apps and integrations > Zendesk API) "
        "or its OAuth token; the user needs access to the incremental export (an admin)."
    )
    config_model = ZendeskConfig
    credentials_model = ZendeskCredentials

    def _client(self, config: ZendeskConfig, credentials: ZendeskCredentials) -> ZendeskClient:
        if credentials.oauth_token is not None:
            return ZendeskClient(
                self.get_json,
                base_url=config.url,
                auth=None,
                headers={"Authorization": f"Bearer {credentials.oauth_token}"},
            )
        assert credentials.email is not None and credentials.api_token is not None  # validated
        return ZendeskClient(
            self.get_json,
            base_url=config.url,
            auth=(f"{credentials.email}/token", credentials.api_token),
            headers={},
        )

    def fetch_page(self, cursor: Mapping[str, Any] | None) -> Page:
        config, credentials = self.settings()
        state = self.load_cursor(ZendeskCursor, cursor)
        client = self._client(config, credentials)
        start_time = state.start_time if state.start_time is not None else config.start_time
        result = client.export_tickets(cursor=state.cursor, start_time=start_time, per_page=config.per_page)
        envelope = result.envelope

        def convert(obj: Any) -> RawItem:
            ticket = parse_ticket(obj)
            try:
                conversation = client.conversation(ticket.id)
            except ConnectorPermanentError as exc:  # 404 and friends: this ticket only
                raise ItemRejected(f"ticket {ticket.id}: comments unavailable: {exc}") from exc
            except MalformedPageError as exc:
                raise ItemRejected(f"ticket {ticket.id}: {exc}") from exc
            users = index_users(conversation.users)
            return ticket_to_item(ticket, obj, conversation.comments, users, web_base=config.url)

        items, skipped = convert_items(envelope.tickets, convert)
        if envelope.after_cursor:
            next_cursor: dict[str, Any] = {"cursor": envelope.after_cursor}
        elif state.cursor:
            next_cursor = {"cursor": state.cursor}
        else:
            next_cursor = {"start_time": start_time}
        return Page(
            items=items,
            next_cursor=next_cursor,
            exhausted=envelope.end_of_stream,
            rate_limit=result.rate_limit,
            skipped=skipped,
        )
