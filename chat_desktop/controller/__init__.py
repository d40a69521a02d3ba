"""The controllers: QObjects, and the plain asyncio parts behind them, between the widgets
and the transport and cache.

- :class:`~.chat.ChatController`: one signed-in account's chat, the Qt face
  (signals) of plain asyncio parts, each in its own module and unit-tested
  with a fake link: :mod:`.connection` (the
  :class:`~chat_desktop.transport.link.ServerLink`, its state, its events in
  batches), :mod:`.outbox` (my messages, in order and exactly once),
  :mod:`.history` (pages from the :class:`~chat_desktop.storage.ChatCache`
  or the server, gap filling), :mod:`.certificates` (a refused certificate),
  :mod:`.typing` and :mod:`.roster` (rooms, people, read marks). Its module
  docstring follows one message from the composer to the link and back;
- :class:`~.account.SignInController`: sign in, create an account, host here;
- :class:`~.hosting.LocalServer`: the bundled server run inside the app;
- :class:`~.settings.AppSettings`: the remembered session (the one reader of
  settings.ini; the token kept by :mod:`chat_desktop.storage.tokens`);
- :class:`~.devices.AccountController`: signed-in devices, changing the password;
- :mod:`.entries`: the values handed to the UI; :mod:`.typing`: typing notices.

Widgets import from here and from :mod:`chat_protocol`, never from
the transport or the storage packages.
"""
