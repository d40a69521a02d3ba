"""The controllers: QObjects between the widgets and the transport and cache.

- :class:`~.chat.ChatController`: one signed-in account's chat (the only
  object that knows both the :class:`~chat_desktop.transport.link.ServerLink`
  and the :class:`~chat_desktop.storage.ChatCache`);
- :class:`~.account.SignInController`: sign in, create an account, host here;
- :class:`~.hosting.LocalServer`: the bundled server run inside the app;
- :class:`~.settings.AppSettings`: the remembered session (the one reader of
  settings.ini; the token kept by :mod:`chat_desktop.storage.tokens`);
- :class:`~.devices.AccountController`: signed-in devices, changing the password;
- :mod:`.entries`: the values handed to the UI; :mod:`.typing`: typing notices.

Widgets import from here and from :mod:`chat_protocol`, never from
the transport or the storage packages.
"""
