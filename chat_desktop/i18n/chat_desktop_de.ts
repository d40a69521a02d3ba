<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
<context>
    <name>AccountController</name>
    <message>
        <location filename="../controller/devices.py" line="+51"/>
        <source>Unknown device</source>
        <translation>Unbekanntes Gerät</translation>
    </message>
    <message>
        <location line="+58"/>
        <source>Enter your current password.</source>
        <translation>Bitte das aktuelle Passwort eingeben.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The new passwords do not match.</source>
        <translation>Die neuen Passwörter stimmen nicht überein.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The new password must be {least}-{most} characters long.</source>
        <translation>Das neue Passwort muss {least} bis {most} Zeichen lang sein.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>The new password is the same as the current one.</source>
        <translation>Das neue Passwort ist dasselbe wie das aktuelle.</translation>
    </message>
</context>
<context>
    <name>AccountDialog</name>
    <message>
        <location filename="../ui/account_dialogs.py" line="+40"/>
        <source>Error</source>
        <translation>Fehler</translation>
    </message>
</context>
<context>
    <name>AttachmentArea</name>
    <message>
        <location filename="../ui/attachments.py" line="+129"/>
        <location line="+1"/>
        <location line="+47"/>
        <source>Attach files</source>
        <translation>Dateien anhängen</translation>
    </message>
</context>
<context>
    <name>CertificateBar</name>
    <message>
        <location filename="../ui/certificate.py" line="+106"/>
        <source>Review certificate…</source>
        <translation>Zertifikat prüfen…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Sign out</source>
        <translation>Abmelden</translation>
    </message>
</context>
<context>
    <name>CertificateReviewDialog</name>
    <message>
        <location line="+52"/>
        <source>Review the server&apos;s certificate</source>
        <translation>Zertifikat des Servers prüfen</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>The certificate of {where} changed</source>
        <translation>Das Zertifikat von {where} hat sich geändert</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No authority vouches for the certificate of {where}</source>
        <translation>Keine Zertifizierungsstelle bürgt für das Zertifikat von {where}</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Trust the certificate shown now only if your administrator confirms its SHA-256 fingerprint (chat-server prints it when it starts). Until you decide, nothing is sent to this server; messages you write wait on this computer.</source>
        <translation>Vertrauen Sie dem jetzt gezeigten Zertifikat nur, wenn Ihre Administration seinen SHA-256-Fingerabdruck bestätigt (chat-server gibt ihn beim Start aus). Bis Sie entscheiden, wird nichts an diesen Server gesendet; Ihre Nachrichten warten auf diesem Computer.</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Trusted until now</source>
        <translation>Bisher vertraut</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Shown now</source>
        <translation>Jetzt gezeigt</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Trust the new certificate</source>
        <translation>Dem neuen Zertifikat vertrauen</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Sign out</source>
        <translation>Abmelden</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Not now</source>
        <translation>Nicht jetzt</translation>
    </message>
</context>
<context>
    <name>ChangePasswordDialog</name>
    <message>
        <location filename="../ui/account_dialogs.py" line="+167"/>
        <location line="+26"/>
        <source>Change password</source>
        <translation>Passwort ändern</translation>
    </message>
    <message>
        <location line="-25"/>
        <source>Your other devices will be signed out; this one stays signed in.</source>
        <translation>Ihre anderen Geräte werden abgemeldet; dieses bleibt angemeldet.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>at least 8 characters</source>
        <translation>mindestens 8 Zeichen</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Current password</source>
        <translation>Aktuelles Passwort</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New password</source>
        <translation>Neues Passwort</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Repeat new password</source>
        <translation>Neues Passwort wiederholen</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
</context>
<context>
    <name>ChatApp</name>
    <message>
        <location filename="../app.py" line="+357"/>
        <source>This device was signed out. Please sign in again.</source>
        <translation>Dieses Gerät wurde abgemeldet. Bitte melden Sie sich erneut an.</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Cannot start the chat server here: {reason}</source>
        <translation>Der Chat-Server kann hier nicht starten: {reason}</translation>
    </message>
    <message>
        <location line="+42"/>
        <source>Password changed. Your other devices were signed out.</source>
        <translation>Passwort geändert. Ihre anderen Geräte wurden abgemeldet.</translation>
    </message>
</context>
<context>
    <name>ChatFiles</name>
    <message>
        <location filename="../controller/files.py" line="+140"/>
        <source>{name} cannot be read: {reason}</source>
        <translation>{name} kann nicht gelesen werden: {reason}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{name} is too large to send: the server takes up to {limit}.</source>
        <translation>{name} ist zu groß zum Senden: Der Server nimmt höchstens {limit} an.</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Pasted</source>
        <translation>Eingefügt</translation>
    </message>
</context>
<context>
    <name>ChatTray</name>
    <message>
        <location filename="../ui/tray.py" line="+50"/>
        <location line="+36"/>
        <source>Chat Desktop</source>
        <translation>Chat Desktop</translation>
    </message>
    <message>
        <location line="-34"/>
        <source>Open Chat Desktop</source>
        <translation>Chat Desktop öffnen</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Quit</source>
        <translation>Beenden</translation>
    </message>
    <message numerus="yes">
        <location line="+29"/>
        <source>Chat Desktop: %n unread</source>
        <translation>
            <numerusform>Chat Desktop: %n ungelesen</numerusform>
            <numerusform>Chat Desktop: %n ungelesen</numerusform>
        </translation>
    </message>
    <message>
        <location line="+9"/>
        <source>{author} in #{room}</source>
        <translation>{author} in #{room}</translation>
    </message>
</context>
<context>
    <name>Composer</name>
    <message>
        <location filename="../ui/composer.py" line="+88"/>
        <source>Message</source>
        <translation>Nachricht</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Write a message…  (Enter sends, Shift+Enter adds a line)</source>
        <translation>Nachricht schreiben…  (Eingabe sendet, Umschalt+Eingabe für neue Zeile)</translation>
    </message>
    <message>
        <location line="+120"/>
        <source>A message can hold at most {limit} characters; this one has {length}.</source>
        <translation>Eine Nachricht darf höchstens {limit} Zeichen haben; diese hat {length}.</translation>
    </message>
</context>
<context>
    <name>ComposerBanner</name>
    <message>
        <location line="+70"/>
        <source>Cancel (Esc)</source>
        <translation>Abbrechen (Esc)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
</context>
<context>
    <name>ComposerBox</name>
    <message>
        <location line="+49"/>
        <source>Send (Enter)</source>
        <translation>Senden (Eingabe)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Send</source>
        <translation>Senden</translation>
    </message>
    <message>
        <location line="+96"/>
        <source>Replying to {author}: {text}</source>
        <translation>Antwort an {author}: {text}</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Editing message</source>
        <translation>Nachricht bearbeiten</translation>
    </message>
</context>
<context>
    <name>ConnectionStatusWidget</name>
    <message>
        <location filename="../ui/connection_status.py" line="+130"/>
        <source>Connection</source>
        <translation>Verbindung</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Reconnect now</source>
        <translation>Jetzt verbinden</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Tries to connect at once instead of waiting for the next attempt</source>
        <translation>Verbindet sofort, statt auf den nächsten Versuch zu warten</translation>
    </message>
</context>
<context>
    <name>DevicesDialog</name>
    <message>
        <location filename="../ui/account_dialogs.py" line="-139"/>
        <location line="+14"/>
        <source>Signed-in devices</source>
        <translation>Angemeldete Geräte</translation>
    </message>
    <message>
        <location line="-13"/>
        <source>These devices are signed in to your account. Sign out any you do not recognise, then change your password.</source>
        <translation>Diese Geräte sind bei Ihrem Konto angemeldet. Melden Sie alle ab, die Sie nicht kennen, und ändern Sie dann Ihr Passwort.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Device</source>
        <translation>Gerät</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Signed in</source>
        <translation>Angemeldet</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Last active</source>
        <translation>Zuletzt aktiv</translation>
    </message>
    <message>
        <location line="+14"/>
        <location line="+49"/>
        <source>Sign out</source>
        <translation>Abmelden</translation>
    </message>
    <message>
        <location line="-43"/>
        <source>Sign out all other devices</source>
        <translation>Alle anderen Geräte abmelden</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Close</source>
        <translation>Schließen</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>This device</source>
        <translation>Dieses Gerät</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Sign out {device}</source>
        <translation>{device} abmelden</translation>
    </message>
</context>
<context>
    <name>EmojiPicker</name>
    <message>
        <location filename="../ui/emoji_picker.py" line="+33"/>
        <source>Choose a reaction</source>
        <translation>Reaktion wählen</translation>
    </message>
</context>
<context>
    <name>HostingQuitPrompt</name>
    <message>
        <location filename="../ui/quit_prompt.py" line="+33"/>
        <source>Quit Chat Desktop?</source>
        <translation>Chat Desktop beenden?</translation>
    </message>
    <message numerus="yes">
        <location line="+5"/>
        <source>{names} and %n more</source>
        <translation>
            <numerusform>{names} und %n weitere Person</numerusform>
            <numerusform>{names} und %n weitere</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location line="+3"/>
        <source>This computer hosts the chat, and %n colleagues are connected: {names}.</source>
        <translation>
            <numerusform>Dieser Computer stellt den Chat bereit, und %n Person ist verbunden: {names}.</numerusform>
            <numerusform>Dieser Computer stellt den Chat bereit, und %n Personen sind verbunden: {names}.</numerusform>
        </translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Quitting stops the chat for everyone until you start the app again.</source>
        <translation>Beenden stoppt den Chat für alle, bis Sie die App wieder starten.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>You can keep it running in the tray instead.</source>
        <translation>Sie können ihn stattdessen im Infobereich weiterlaufen lassen.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Keep serving in the tray</source>
        <translation>Im Infobereich weiterlaufen lassen</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Quit anyway</source>
        <translation>Trotzdem beenden</translation>
    </message>
</context>
<context>
    <name>HoverActions</name>
    <message>
        <location filename="../ui/message_actions.py" line="+133"/>
        <source>Add a reaction</source>
        <translation>Reaktion hinzufügen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reply</source>
        <translation>Antworten</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>More actions</source>
        <translation>Weitere Aktionen</translation>
    </message>
</context>
<context>
    <name>ImageViewer</name>
    <message>
        <location filename="../ui/image_viewer.py" line="+52"/>
        <source>Save…</source>
        <translation>Speichern…</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>The picture could not be shown.</source>
        <translation>Das Bild kann nicht angezeigt werden.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../ui/main_window.py" line="+177"/>
        <source>Rooms</source>
        <extracomment>The smallest window the layout is made for (and tested at): below it rows and headings would have no room.</extracomment>
        <translation>Räume</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Create a room (Ctrl+N)</source>
        <translation>Raum erstellen (Strg+N)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New room</source>
        <translation>Neuer Raum</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>People</source>
        <translation>Personen</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>ROOMS</source>
        <translation>RÄUME</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>PEOPLE</source>
        <translation>PERSONEN</translation>
    </message>
    <message>
        <location line="+80"/>
        <source>{user} on {server}</source>
        <translation>{user} auf {server}</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>&amp;Chat</source>
        <translation>&amp;Chat</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;New room…</source>
        <translation>&amp;Neuer Raum…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New &amp;message…</source>
        <translation>Neue &amp;Nachricht…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Reconnect now</source>
        <translation>&amp;Jetzt verbinden</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>S&amp;ettings…</source>
        <translation>&amp;Einstellungen…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Signed-in &amp;devices…</source>
        <translation>Angemeldete &amp;Geräte…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Change &amp;password…</source>
        <translation>&amp;Passwort ändern…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Sign out</source>
        <translation>&amp;Abmelden</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Go</source>
        <translation>&amp;Gehe zu</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Switch to room…</source>
        <translation>&amp;Raum wechseln…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Find in room…</source>
        <translation>Im Raum &amp;suchen…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Find in &amp;every room…</source>
        <translation>In &amp;allen Räumen suchen…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Next room</source>
        <translation>&amp;Nächster Raum</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Previous room</source>
        <translation>&amp;Vorheriger Raum</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Next &amp;unread room</source>
        <translation>Nächster &amp;ungelesener Raum</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Room</source>
        <translation>&amp;Raum</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Edit &amp;topic</source>
        <translation>&amp;Thema bearbeiten</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Show &amp;members</source>
        <translation>&amp;Mitglieder anzeigen</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Invite people…</source>
        <translation>Personen &amp;einladen…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Leave room…</source>
        <translation>Raum &amp;verlassen…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Delete room…</source>
        <translation>Raum &amp;löschen…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;View</source>
        <translation>&amp;Ansicht</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Show &amp;side bar</source>
        <translation>&amp;Seitenleiste zeigen</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Keyboard shortcuts</source>
        <translation>&amp;Tastenkürzel</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;About Chat Desktop</source>
        <translation>&amp;Über Chat Desktop</translation>
    </message>
    <message>
        <location line="+135"/>
        <source>Message #{room}</source>
        <translation>Nachricht an #{room}</translation>
    </message>
    <message>
        <location line="+399"/>
        <source>Leave room…</source>
        <translation>Raum verlassen…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Delete room…</source>
        <translation>Raum löschen…</translation>
    </message>
    <message>
        <location line="-429"/>
        <source>Enter sends, Shift+Enter adds a line</source>
        <translation>Eingabe sendet, Umschalt+Eingabe für neue Zeile</translation>
    </message>
    <message>
        <location line="-300"/>
        <source>Direct messages</source>
        <translation>Direktnachrichten</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Message one or more people (Ctrl+Shift+N)</source>
        <translation>Einer oder mehreren Personen schreiben (Strg+Umschalt+N)</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+501"/>
        <source>New message</source>
        <translation>Neue Nachricht</translation>
    </message>
    <message>
        <location line="-495"/>
        <source>Enter or a click opens a direct message</source>
        <translation>Eingabetaste oder ein Klick öffnet eine Direktnachricht</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Click a name to send a direct message</source>
        <translation>Auf einen Namen klicken, um eine Direktnachricht zu schreiben</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>DIRECT MESSAGES</source>
        <translation>DIREKTNACHRICHTEN</translation>
    </message>
    <message>
        <location line="+307"/>
        <source>Message {room}</source>
        <translation>Nachricht an {room}</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Chat Desktop — {room}</source>
        <translation>Chat Desktop — {room}</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>{room} is no longer open to you.</source>
        <translation>{room} steht dir nicht mehr offen.</translation>
    </message>
    <message numerus="yes">
        <location line="+11"/>
        <source>PEOPLE · %n ONLINE</source>
        <translation>
            <numerusform>PERSONEN · %n ONLINE</numerusform>
            <numerusform>PERSONEN · %n ONLINE</numerusform>
        </translation>
    </message>
    <message>
        <location line="+60"/>
        <source>{user} · hosting the chat: colleagues connect to {address}</source>
        <translation>{user} · stellt den Chat bereit: andere verbinden sich mit {address}</translation>
    </message>
    <message>
        <location line="+76"/>
        <source>Open conversation</source>
        <translation>Unterhaltung öffnen</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Pick one person, or several for a group conversation.</source>
        <translation>Eine Person wählen, oder mehrere für eine Gruppenunterhaltung.</translation>
    </message>
    <message>
        <location line="+32"/>
        <location line="+9"/>
        <source>Delete room</source>
        <translation>Raum löschen</translation>
    </message>
    <message>
        <location line="-7"/>
        <source>Delete {room} for everyone? All its messages are erased, and its name cannot be used again.</source>
        <translation>{room} für alle löschen? Alle Nachrichten darin werden gelöscht, und der Name kann nicht wieder verwendet werden.</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>Sign out</source>
        <translation>Abmelden</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Sign out of this server? Messages not yet sent stay queued for your next sign-in.</source>
        <translation>Von diesem Server abmelden? Noch nicht gesendete Nachrichten warten auf Ihre nächste Anmeldung.</translation>
    </message>
    <message>
        <location line="+80"/>
        <source>That message could not be loaded: it was deleted, or it is not on this computer and the server cannot be reached</source>
        <translation>Diese Nachricht ließ sich nicht laden: Sie wurde gelöscht, oder sie ist nicht auf diesem Computer und der Server ist nicht erreichbar</translation>
    </message>
    <message>
        <location line="+47"/>
        <source>Unmute room</source>
        <translation>Raum nicht mehr stummschalten</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Mute room</source>
        <translation>Raum stummschalten</translation>
    </message>
</context>
<context>
    <name>MemberListModel</name>
    <message>
        <location filename="../ui/side_bar.py" line="+329"/>
        <source>{name} (you, creator)</source>
        <translation>{name} (du, Ersteller)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name} (creator)</source>
        <translation>{name} (Ersteller)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{name} (you)</source>
        <translation>{name} (du)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>online</source>
        <translation>online</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>offline</source>
        <translation>offline</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{presence} · admin</source>
        <translation>{presence} · Admin</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{presence} · created this room</source>
        <translation>{presence} · hat diesen Raum erstellt</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{name}, the room&apos;s creator, online</source>
        <translation>{name}, Ersteller des Raums, online</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{name}, the room&apos;s creator, offline</source>
        <translation>{name}, Ersteller des Raums, offline</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{name}, online</source>
        <translation>{name}, online</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name}, offline</source>
        <translation>{name}, offline</translation>
    </message>
</context>
<context>
    <name>MembersPanel</name>
    <message>
        <location filename="../ui/members_panel.py" line="+87"/>
        <source>Members</source>
        <translation>Mitglieder</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Invite…</source>
        <translation>Einladen…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Invite people to this room</source>
        <translation>Personen in diesen Raum einladen</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+105"/>
        <source>Remove</source>
        <translation>Entfernen</translation>
    </message>
    <message>
        <location line="-104"/>
        <source>Remove the selected member from this room</source>
        <translation>Das gewählte Mitglied aus diesem Raum entfernen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Leave…</source>
        <translation>Verlassen…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Leave this room</source>
        <translation>Diesen Raum verlassen</translation>
    </message>
    <message>
        <location line="+68"/>
        <source>Invite to {room}</source>
        <translation>In {room} einladen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Invite</source>
        <translation>Einladen</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>They will see the room and its whole history.</source>
        <translation>Eingeladene sehen den Raum und seinen ganzen Verlauf.</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Leave room</source>
        <translation>Raum verlassen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Leave {room}? You can only come back if a member invites you.</source>
        <translation>{room} verlassen? Zurück kommst du nur, wenn dich ein Mitglied einlädt.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Leave</source>
        <translation>Verlassen</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Remove member</source>
        <translation>Mitglied entfernen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Remove {user} from {room}?</source>
        <translation>{user} aus {room} entfernen?</translation>
    </message>
    <message numerus="yes">
        <location line="+30"/>
        <source>MEMBERS · %n</source>
        <translation>
            <numerusform>MITGLIEDER · %n</numerusform>
            <numerusform>MITGLIEDER · %n</numerusform>
        </translation>
    </message>
    <message>
        <location line="+33"/>
        <source>Send a direct message</source>
        <translation>Direktnachricht schreiben</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Remove from room…</source>
        <translation>Aus dem Raum entfernen…</translation>
    </message>
</context>
<context>
    <name>MessageActions</name>
    <message>
        <location filename="../ui/message_actions.py" line="-34"/>
        <source>Reply</source>
        <translation>Antworten</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>React…</source>
        <translation>Reagieren…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Edit</source>
        <translation>Bearbeiten</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Delete…</source>
        <translation>Löschen…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Copy text</source>
        <translation>Text kopieren</translation>
    </message>
    <message>
        <location line="+232"/>
        <source>Delete this message for everyone? This cannot be undone.</source>
        <translation>Diese Nachricht für alle löschen? Das lässt sich nicht rückgängig machen.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Delete this message by {author} for everyone? This cannot be undone.</source>
        <translation>Diese Nachricht von {author} für alle löschen? Das lässt sich nicht rückgängig machen.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Delete message</source>
        <translation>Nachricht löschen</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Delete</source>
        <translation>Löschen</translation>
    </message>
</context>
<context>
    <name>MessageDelegate</name>
    <message>
        <location filename="../ui/message_delegate.py" line="+129"/>
        <source>Waiting for its files to go up</source>
        <translation>Wartet, bis die Dateien hochgeladen sind</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Queued: sends when the connection is back</source>
        <translation>Wartet: wird gesendet, sobald die Verbindung steht</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Sending…</source>
        <translation>Wird gesendet…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Refused by the server.</source>
        <translation>Vom Server abgelehnt.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Not delivered: {reason}</source>
        <translation>Nicht zugestellt: {reason}</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Retry</source>
        <translation>Erneut senden</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>(edited)</source>
        <translation>(bearbeitet)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>message deleted</source>
        <translation>Nachricht gelöscht</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Seen by {names}</source>
        <translation>Gesehen von {names}</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>a message not loaded</source>
        <translation>eine nicht geladene Nachricht</translation>
    </message>
    <message>
        <location line="+722"/>
        <source>Message text</source>
        <translation>Nachrichtentext</translation>
    </message>
</context>
<context>
    <name>MessageFiles</name>
    <message>
        <location filename="../ui/file_cards.py" line="+71"/>
        <source>Open</source>
        <translation>Öffnen</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Save</source>
        <translation>Speichern</translation>
    </message>
    <message>
        <location line="+173"/>
        <source>Could not load the picture</source>
        <translation>Bild konnte nicht geladen werden</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Click to try again</source>
        <translation>Klicken, um es erneut zu versuchen</translation>
    </message>
    <message>
        <location line="+62"/>
        <source>{done} of {total}</source>
        <translation>{done} von {total}</translation>
    </message>
    <message>
        <location filename="../ui/message_files.py" line="+226"/>
        <source>Save file</source>
        <translation>Datei speichern</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>View {name}</source>
        <translation>{name} ansehen</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Open {name}</source>
        <translation>{name} öffnen</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Save {name}…</source>
        <translation>{name} speichern…</translation>
    </message>
    <message>
        <location line="+54"/>
        <source>{name} could run as a program: save it, and open it yourself if you trust it.</source>
        <translation>{name} könnte als Programm laufen: Speichern Sie die Datei und öffnen Sie sie selbst, wenn Sie ihr vertrauen.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No program here opens {name}.</source>
        <translation>Kein Programm auf diesem Computer öffnet {name}.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>{name} could not be saved: {reason}</source>
        <translation>{name} konnte nicht gespeichert werden: {reason}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Saved {name}</source>
        <translation>{name} gespeichert</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>The file could not be downloaded: {reason}</source>
        <translation>Die Datei konnte nicht heruntergeladen werden: {reason}</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>The picture is too large to show.</source>
        <translation>Das Bild ist zu groß zum Anzeigen.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The picture could not be read.</source>
        <translation>Das Bild konnte nicht gelesen werden.</translation>
    </message>
</context>
<context>
    <name>MessageListModel</name>
    <message>
        <location filename="../ui/message_model.py" line="+380"/>
        <source>message deleted</source>
        <translation>Nachricht gelöscht</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Files: {names}</source>
        <translation>Dateien: {names}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{author} at {time}: {text}</source>
        <translation>{author} um {time}: {text}</translation>
    </message>
    <message>
        <location line="+127"/>
        <source>Edited {time}</source>
        <translation>Bearbeitet {time}</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Queued: it will be sent when the connection is back</source>
        <translation>Wartet: wird gesendet, sobald die Verbindung wieder steht</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Sent, waiting for the server</source>
        <translation>Gesendet, wartet auf den Server</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Delivered (#{seq})</source>
        <translation>Zugestellt (#{seq})</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Not delivered: {reason}</source>
        <translation>Nicht zugestellt: {reason}</translation>
    </message>
</context>
<context>
    <name>MessageView</name>
    <message>
        <location filename="../ui/message_view.py" line="+113"/>
        <source>Messages</source>
        <translation>Nachrichten</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>Scrolls down to the newest message</source>
        <translation>Springt zur neuesten Nachricht</translation>
    </message>
    <message numerus="yes">
        <location line="+218"/>
        <source>%n new messages</source>
        <translation>
            <numerusform>%n neue Nachricht</numerusform>
            <numerusform>%n neue Nachrichten</numerusform>
        </translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Back to the newest</source>
        <translation>Zu den neuesten</translation>
    </message>
</context>
<context>
    <name>NewRoomDialog</name>
    <message>
        <location filename="../ui/new_room.py" line="+51"/>
        <source>Lower-case letters, digits, - and _; up to 64 characters.</source>
        <translation>Kleinbuchstaben, Ziffern, - und _; bis zu 64 Zeichen.</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>New room</source>
        <translation>Neuer Raum</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Room &amp;name</source>
        <translation>Raum&amp;name</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>e.g. plans or team-2026</source>
        <translation>z. B. planung oder team-2026</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Room name</source>
        <translation>Raumname</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>&amp;Private: only the members see it</source>
        <translation>&amp;Privat: nur die Mitglieder sehen ihn</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Private room</source>
        <translation>Privater Raum</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Members to invite</source>
        <translation>Einzuladende &amp;Mitglieder</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Create</source>
        <translation>Erstellen</translation>
    </message>
    <message>
        <location line="+78"/>
        <source>Creating #{room}…</source>
        <translation>#{room} wird erstellt…</translation>
    </message>
</context>
<context>
    <name>PeopleModel</name>
    <message>
        <location filename="../ui/people.py" line="+117"/>
        <source>online</source>
        <translation>online</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>offline</source>
        <translation>offline</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name}, online</source>
        <translation>{name}, online</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{name}, offline</source>
        <translation>{name}, offline</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{person}, chosen</source>
        <translation>{person}, gewählt</translation>
    </message>
</context>
<context>
    <name>PeoplePicker</name>
    <message>
        <location line="+24"/>
        <location line="+1"/>
        <source>Find people</source>
        <translation>Personen suchen</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>People</source>
        <translation>Personen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Space or a click picks a person</source>
        <translation>Leertaste oder ein Klick wählt eine Person</translation>
    </message>
    <message>
        <location line="+68"/>
        <source>Chosen: {names}</source>
        <translation>Gewählt: {names}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Nobody chosen yet</source>
        <translation>Noch niemand gewählt</translation>
    </message>
</context>
<context>
    <name>QuickSwitchDialog</name>
    <message>
        <location filename="../ui/quick_switch.py" line="+31"/>
        <source>Switch to room</source>
        <translation>Raum wechseln</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+1"/>
        <source>Room name</source>
        <translation>Raumname</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Matching rooms</source>
        <translation>Passende Räume</translation>
    </message>
</context>
<context>
    <name>QuietIndicator</name>
    <message>
        <location filename="../ui/quiet_indicator.py" line="+28"/>
        <source>End</source>
        <translation>Beenden</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Turn notifications back on now</source>
        <translation>Benachrichtigungen jetzt wieder einschalten</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Do not disturb until {time}</source>
        <translation>Nicht stören bis {time}</translation>
    </message>
</context>
<context>
    <name>RoomHeader</name>
    <message>
        <location filename="../ui/room_header.py" line="+131"/>
        <source>Room</source>
        <translation>Raum</translation>
    </message>
    <message>
        <location line="+5"/>
        <location line="+6"/>
        <source>Topic</source>
        <translation>Thema</translation>
    </message>
    <message>
        <location line="-5"/>
        <source>Click or press Enter to edit the topic</source>
        <translation>Klicken oder Eingabetaste drücken, um das Thema zu bearbeiten</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+111"/>
        <source>Click to edit the topic</source>
        <translation>Klicken, um das Thema zu bearbeiten</translation>
    </message>
    <message>
        <location line="-106"/>
        <source>What is this room about?</source>
        <translation>Worum geht es in diesem Raum?</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Enter saves, Esc cancels</source>
        <translation>Eingabetaste speichert, Esc bricht ab</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Show or hide the members</source>
        <translation>Mitglieder zeigen oder verbergen</translation>
    </message>
    <message>
        <location line="+4"/>
        <location line="+1"/>
        <source>Room actions</source>
        <translation>Raumaktionen</translation>
    </message>
    <message numerus="yes">
        <location line="+56"/>
        <source>Members: %n</source>
        <translation>
            <numerusform>Mitglieder: %n</numerusform>
            <numerusform>Mitglieder: %n</numerusform>
        </translation>
    </message>
    <message>
        <location line="+28"/>
        <source>Add a topic</source>
        <translation>Thema hinzufügen</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>{topic}
(click to edit)</source>
        <translation>{topic}
(zum Bearbeiten klicken)</translation>
    </message>
</context>
<context>
    <name>RoomListModel</name>
    <message numerus="yes">
        <location filename="../ui/side_bar.py" line="-199"/>
        <source>%n unread</source>
        <translation>
            <numerusform>%n ungelesen</numerusform>
            <numerusform>%n ungelesen</numerusform>
        </translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Private room</source>
        <translation>Privater Raum</translation>
    </message>
    <message numerus="yes">
        <location line="+6"/>
        <source>{room}, %n unread</source>
        <translation>
            <numerusform>{room}, %n ungelesen</numerusform>
            <numerusform>{room}, %n ungelesen</numerusform>
        </translation>
    </message>
    <message>
        <location line="+11"/>
        <source>{room}, private room</source>
        <translation>{room}, privater Raum</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{name}, direct message, online</source>
        <translation>{name}, Direktnachricht, online</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{name}, direct message, offline</source>
        <translation>{name}, Direktnachricht, offline</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>muted</source>
        <translation>stummgeschaltet</translation>
    </message>
</context>
<context>
    <name>SearchPanel</name>
    <message>
        <location filename="../ui/search_panel.py" line="+299"/>
        <source>Search messages</source>
        <translation>Nachrichten suchen</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Where to search</source>
        <translation>Wo suchen</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Words to find</source>
        <translation>Gesuchte Wörter</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search for</source>
        <translation>Suchen nach</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Search results summary</source>
        <translation>Zusammenfassung der Suchergebnisse</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Messages found</source>
        <translation>Gefundene Nachrichten</translation>
    </message>
    <message>
        <location line="+40"/>
        <location line="+32"/>
        <source>Type a few words; every word must match</source>
        <translation>Ein paar Wörter eingeben; jedes Wort muss vorkommen</translation>
    </message>
    <message>
        <location line="-18"/>
        <source>In {room}</source>
        <translation>In {room}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>In every room</source>
        <translation>In allen Räumen</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Searching…</source>
        <translation>Suche läuft…</translation>
    </message>
    <message numerus="yes">
        <location line="+30"/>
        <source>%n on this computer</source>
        <translation>
            <numerusform>%n auf diesem Computer</numerusform>
            <numerusform>%n auf diesem Computer</numerusform>
        </translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Type letters or digits: there is no word to search for</source>
        <translation>Buchstaben oder Ziffern eingeben: Es gibt kein Wort, nach dem gesucht werden kann</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{found}; searching the server…</source>
        <translation>{found}; der Server wird durchsucht…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{found}. Offline: only messages on this computer were searched</source>
        <translation>{found}. Offline: Nur Nachrichten auf diesem Computer wurden durchsucht</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{found}. The server could not be searched just now</source>
        <translation>{found}. Der Server konnte gerade nicht durchsucht werden</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No messages found</source>
        <translation>Keine Nachrichten gefunden</translation>
    </message>
    <message numerus="yes">
        <location line="+1"/>
        <source>%n from the server</source>
        <translation>
            <numerusform>%n vom Server</numerusform>
            <numerusform>%n vom Server</numerusform>
        </translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{here}, {there}</source>
        <translation>{here}, {there}</translation>
    </message>
</context>
<context>
    <name>SearchResultsModel</name>
    <message>
        <location line="-273"/>
        <source>on this computer</source>
        <translation>auf diesem Computer</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>from the server</source>
        <translation>vom Server</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>In {room}, {author}, {time} ({where}): {text}</source>
        <translation>In {room}, {author}, {time} ({where}): {text}</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../ui/settings_dialog.py" line="+90"/>
        <source>Settings</source>
        <translation>Einstellungen</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>All messages</source>
        <translation>Allen Nachrichten</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Mentions and direct messages only</source>
        <translation>Nur Erwähnungen und Direktnachrichten</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>None</source>
        <translation>Keinen</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Play a sound with each notification</source>
        <translation>Bei jeder Benachrichtigung einen Ton abspielen</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>For an hour</source>
        <translation>Für eine Stunde</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Until tomorrow</source>
        <translation>Bis morgen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>End</source>
        <translation>Beenden</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Ticked rooms stay quiet; a mention of you still notifies.</source>
        <translation>Angehakte Räume bleiben still; eine Erwähnung von dir meldet sich trotzdem.</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Same as the system</source>
        <translation>Wie das System</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Light</source>
        <translation>Hell</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dark</source>
        <translation>Dunkel</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Start Chat Desktop when I log in</source>
        <translation>Chat Desktop bei der Anmeldung starten</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Not supported on this system yet.</source>
        <translation>Auf diesem System noch nicht unterstützt.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Starting at login is not supported on this system.</source>
        <translation>Der Start bei der Anmeldung wird auf diesem System nicht unterstützt.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Closing the window keeps the app in the tray</source>
        <translation>Beim Schließen des Fensters im Infobereich weiterlaufen</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>This desktop shows no tray icons.</source>
        <translation>Dieser Desktop zeigt keine Symbole im Infobereich.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Notify me of</source>
        <translation>Benachrichtigen bei</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Do not disturb</source>
        <translation>Nicht stören</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Muted rooms</source>
        <translation>Stummgeschaltete Räume</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Appearance</source>
        <translation>Erscheinungsbild</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Start and close</source>
        <translation>Starten und Schließen</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Off</source>
        <translation>Aus</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>On until {time}</source>
        <translation>An bis {time}</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>Could not change the login items: {error}</source>
        <translation>Die Anmeldeobjekte konnten nicht geändert werden: {error}</translation>
    </message>
</context>
<context>
    <name>ShortcutsDialog</name>
    <message>
        <location filename="../ui/about.py" line="+91"/>
        <source>Keyboard shortcuts</source>
        <translation>Tastenkürzel</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Action</source>
        <translation>Aktion</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Keys</source>
        <translation>Tasten</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Enter sends, Shift+Enter adds a line; @ offers people&apos;s names.
More in the README, section &quot;Using the app&quot;.</source>
        <translation>Eingabe sendet, Umschalt+Eingabe beginnt eine neue Zeile; @ schlägt Namen vor.
Mehr in der README, Abschnitt „Using the app“.</translation>
    </message>
</context>
<context>
    <name>SignInController</name>
    <message>
        <location filename="../controller/account.py" line="+172"/>
        <source>Not connected: the server&apos;s certificate was not trusted.</source>
        <translation>Nicht verbunden: dem Zertifikat des Servers wurde nicht vertraut.</translation>
    </message>
    <message>
        <location line="+51"/>
        <source>Wrong username or password.</source>
        <translation>Falscher Benutzername oder falsches Passwort.</translation>
    </message>
    <message>
        <location line="+47"/>
        <source>Cannot start the chat server on this computer: {reason}</source>
        <translation>Der Chat-Server kann auf diesem Computer nicht starten: {reason}</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>The server at {where} uses a certificate that no authority vouches for, as servers on a LAN usually do. Trust it only if its SHA-256 fingerprint is the one your administrator gave you:

{fingerprint}

Once trusted, this computer connects to this server only while it shows this same certificate.</source>
        <translation>Der Server unter {where} verwendet ein Zertifikat, für das keine Zertifizierungsstelle bürgt, wie es bei Servern im lokalen Netz üblich ist. Vertrauen Sie ihm nur, wenn sein SHA-256-Fingerabdruck der ist, den Ihnen Ihre Administration gegeben hat:

{fingerprint}

Nach dem Vertrauen verbindet sich dieser Computer mit dem Server nur, solange er dasselbe Zertifikat zeigt.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>The server at {where} shows a different certificate than the one you trusted, so the connection was refused. This happens when the server was reinstalled or its certificate renewed, and also when someone intercepts the connection. Accept the new certificate only if your administrator confirms its fingerprint.

Trusted:   {pinned}
Presented: {presented}</source>
        <translation>Der Server unter {where} zeigt ein anderes Zertifikat als das, dem Sie vertraut haben, daher wurde die Verbindung abgelehnt. Das passiert, wenn der Server neu installiert oder sein Zertifikat erneuert wurde, aber auch, wenn jemand die Verbindung abfängt. Akzeptieren Sie das neue Zertifikat nur, wenn Ihre Administration seinen Fingerabdruck bestätigt.

Vertraut: {pinned}
Gezeigt:  {presented}</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>Enter your password.</source>
        <translation>Bitte das Passwort eingeben.</translation>
    </message>
</context>
<context>
    <name>SignInDialog</name>
    <message>
        <location filename="../ui/sign_in.py" line="+77"/>
        <source>Sign in to Chat Desktop</source>
        <translation>Bei Chat Desktop anmelden</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Chat Desktop</source>
        <translation>Chat Desktop</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Sign in to your team&apos;s chat, or host one on this computer.</source>
        <translation>Melden Sie sich beim Chat Ihres Teams an, oder stellen Sie einen auf diesem Computer bereit.</translation>
    </message>
    <message>
        <location line="+15"/>
        <location line="+17"/>
        <source>Server address</source>
        <translation>Serveradresse</translation>
    </message>
    <message>
        <location line="-15"/>
        <source>The address of the chat server, e.g. chat.example.lan:8765</source>
        <translation>Die Adresse des Chat-Servers, z. B. chat.example.lan:8765</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>your name, e.g. alice</source>
        <translation>Ihr Name, z. B. alice</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+11"/>
        <source>Username</source>
        <translation>Benutzername</translation>
    </message>
    <message>
        <location line="-7"/>
        <source>at least 8 characters</source>
        <translation>mindestens 8 Zeichen</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+7"/>
        <source>Password</source>
        <translation>Passwort</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>the code from whoever runs the server</source>
        <translation>der Code von der Person, die den Server betreibt</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+9"/>
        <source>Invite code</source>
        <translation>Einladungscode</translation>
    </message>
    <message>
        <location line="-8"/>
        <source>This server does not take new accounts.</source>
        <translation>Dieser Server nimmt keine neuen Konten an.</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Chats on your network (click one to use it):</source>
        <translation>Chats in Ihrem Netzwerk (zum Verwenden anklicken):</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Chats on your network</source>
        <translation>Chats in Ihrem Netzwerk</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Looking for chats on your network…</source>
        <translation>Suche nach Chats in Ihrem Netzwerk…</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>Error</source>
        <translation>Fehler</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Sign in</source>
        <translation>Anmelden</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Create account</source>
        <translation>Konto erstellen</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Host a chat on this computer</source>
        <translation>Chat auf diesem Computer bereitstellen</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Runs the chat server inside this app, for you and everyone on your network. Uses the username and password above for your account on it.</source>
        <translation>Startet den Chat-Server in dieser App, für Sie und alle in Ihrem Netzwerk. Benutzername und Passwort von oben werden Ihr Konto darauf.</translation>
    </message>
    <message>
        <location line="+94"/>
        <source>Certificate fingerprint (to compare, not a proof): {fingerprint}</source>
        <translation>Fingerabdruck des Zertifikats (zum Vergleichen, kein Beweis): {fingerprint}</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>Trust this server?</source>
        <translation>Diesem Server vertrauen?</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Trust this server</source>
        <translation>Diesem Server vertrauen</translation>
    </message>
</context>
<context>
    <name>TypingLine</name>
    <message>
        <location filename="../ui/typing_line.py" line="+14"/>
        <source>{name} is typing...</source>
        <translation>{name} schreibt…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{first} and {second} are typing...</source>
        <translation>{first} und {second} schreiben…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>several people are typing...</source>
        <translation>mehrere Personen schreiben…</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Who is typing</source>
        <translation>Wer gerade schreibt</translation>
    </message>
</context>
<context>
    <name>_Chip</name>
    <message>
        <location filename="../ui/attachments.py" line="-109"/>
        <source>Remove this file</source>
        <translation>Diese Datei entfernen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Remove {name}</source>
        <translation>{name} entfernen</translation>
    </message>
</context>
<context>
    <name>_UploadRow</name>
    <message>
        <location line="+18"/>
        <source>Sending {names}</source>
        <translation>{names} wird gesendet</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Upload progress</source>
        <translation>Fortschritt des Hochladens</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cancel</source>
        <translation>Abbrechen</translation>
    </message>
</context>
<context>
    <name>certificate</name>
    <message>
        <location filename="../ui/certificate.py" line="-164"/>
        <source>Not connected: the server at {where} shows a different certificate than the one you trusted.</source>
        <translation>Nicht verbunden: Der Server unter {where} zeigt ein anderes Zertifikat als das, dem Sie vertraut haben.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Not connected: the server at {where} now shows a certificate that no authority vouches for.</source>
        <translation>Nicht verbunden: Der Server unter {where} zeigt jetzt ein Zertifikat, für das keine Zertifizierungsstelle bürgt.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Nothing was sent to it. This happens when the server is reinstalled or its certificate renewed, and also when someone intercepts the connection.</source>
        <translation>Es wurde nichts an ihn gesendet. Das passiert, wenn der Server neu installiert oder sein Zertifikat erneuert wird, aber auch, wenn jemand die Verbindung abfängt.</translation>
    </message>
</context>
<context>
    <name>connection</name>
    <message>
        <location filename="../ui/connection_status.py" line="-108"/>
        <source>Messages arrive the instant they are sent.</source>
        <translation>Nachrichten kommen an, sobald sie gesendet werden.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The WebSocket cannot be opened (a proxy in the way?): the chat goes through HTTP polling, and the WebSocket is tried again every 30 s.</source>
        <translation>Der WebSocket lässt sich nicht öffnen (ein Proxy im Weg?): Der Chat läuft über HTTP-Polling, und der WebSocket wird alle 30 s erneut versucht.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Messages you write now are kept and sent when the connection is back.</source>
        <translation>Was Sie jetzt schreiben, wird aufbewahrt und gesendet, sobald die Verbindung wieder steht.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The connection was lost: the app tries again by itself, and Reconnect now tries at once. Messages you write meanwhile are kept.</source>
        <translation>Die Verbindung ist unterbrochen: Die App versucht es von selbst erneut, „Jetzt verbinden“ sofort. Was Sie inzwischen schreiben, bleibt erhalten.</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Disconnected.</source>
        <translation>Getrennt.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Something went wrong inside the app; its log says what.</source>
        <translation>In der App ist etwas schiefgegangen; ihr Protokoll sagt, was.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server refused the WebSocket.</source>
        <translation>Der Server hat den WebSocket abgelehnt.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Cannot reach the server at %1.</source>
        <translation>Der Server unter %1 ist nicht erreichbar.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server at %1 did not answer in time.</source>
        <translation>Der Server unter %1 hat nicht rechtzeitig geantwortet.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The secure connection to %1 failed.</source>
        <translation>Die sichere Verbindung zu %1 ist fehlgeschlagen.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The connection to the server was lost.</source>
        <translation>Die Verbindung zum Server ist abgebrochen.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server closed the connection.</source>
        <translation>Der Server hat die Verbindung geschlossen.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server answered with an error.</source>
        <translation>Der Server hat mit einem Fehler geantwortet.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Polling stopped.</source>
        <translation>Die Abfrage über HTTP wurde beendet.</translation>
    </message>
    <message>
        <location line="+11"/>
        <location line="+5"/>
        <source>Reconnecting…</source>
        <translation>Verbindung wird wiederhergestellt…</translation>
    </message>
    <message>
        <location line="-1"/>
        <source>Reconnecting in %n s</source>
        <translation>Neuer Versuch in %n s</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Connecting…</source>
        <translation>Verbinde…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Connected</source>
        <translation>Verbunden</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Offline: polling</source>
        <translation>Offline: Polling</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Offline</source>
        <translation>Offline</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Signed out: the server no longer accepts this sign-in</source>
        <translation>Abgemeldet: Der Server akzeptiert diese Anmeldung nicht mehr</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Not connected: the server&apos;s certificate changed</source>
        <translation>Nicht verbunden: Das Zertifikat des Servers hat sich geändert</translation>
    </message>
</context>
<context>
    <name>dates</name>
    <message>
        <location filename="../ui/dates.py" line="+38"/>
        <source>Today</source>
        <translation>Heute</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Yesterday</source>
        <translation>Gestern</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Today {time}</source>
        <translation>Heute {time}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Yesterday {time}</source>
        <translation>Gestern {time}</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>{date}, {time}</source>
        <translation>{date}, {time}</translation>
    </message>
</context>
<context>
    <name>errors</name>
    <message>
        <location filename="../controller/account.py" line="+11"/>
        <location filename="../controller/wording.py" line="+109"/>
        <source>Something went wrong.</source>
        <translation>Etwas ist schiefgegangen.</translation>
    </message>
    <message>
        <location filename="../controller/wording.py" line="-84"/>
        <source>The server did not accept this request.</source>
        <translation>Der Server hat diese Anfrage nicht angenommen.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The server does not know this request: it may be older than the app.</source>
        <translation>Der Server kennt diese Anfrage nicht: Er ist vielleicht älter als die App.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>This room does not exist.</source>
        <translation>Diesen Raum gibt es nicht.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This is too long for the server.</source>
        <translation>Das ist zu lang für den Server.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Too many requests in a short time: wait a moment and try again.</source>
        <translation>Zu viele Anfragen in kurzer Zeit: Bitte kurz warten und erneut versuchen.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>This device was signed out; sign in again.</source>
        <translation>Dieses Gerät wurde abgemeldet; bitte erneut anmelden.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Only its author (or an admin) may do that.</source>
        <translation>Das darf nur die Person, die es geschrieben hat (oder ein Admin).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>That message is not there any more: it may have been deleted.</source>
        <translation>Diese Nachricht gibt es nicht mehr: Sie wurde vielleicht gelöscht.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>An attached file is no longer on the server: attach it again.</source>
        <translation>Eine angehängte Datei ist nicht mehr auf dem Server: Bitte erneut anhängen.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>A room with this name exists: choose another.</source>
        <translation>Es gibt schon einen Raum mit diesem Namen: Bitte einen anderen wählen.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server cannot store anything right now: try again in a moment.</source>
        <translation>Der Server kann gerade nichts speichern: Bitte gleich erneut versuchen.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>This server does not take new accounts.</source>
        <translation>Dieser Server nimmt keine neuen Konten an.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>This username is taken: choose another, or sign in.</source>
        <translation>Dieser Benutzername ist vergeben: Wählen Sie einen anderen, oder melden Sie sich an.</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+3"/>
        <source>The server does not offer this: it may be older than the app.</source>
        <translation>Der Server bietet das nicht an: Er ist vielleicht älter als die App.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>This server takes new accounts only with an invitation code.</source>
        <translation>Dieser Server nimmt neue Konten nur mit Einladungscode an.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>This invitation code is unknown, used up or expired.</source>
        <translation>Dieser Einladungscode ist unbekannt, aufgebraucht oder abgelaufen.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server did not understand the request&apos;s format.</source>
        <translation>Der Server hat das Format der Anfrage nicht verstanden.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The request took too long to arrive: try again.</source>
        <translation>Die Anfrage kam zu langsam an: Bitte erneut versuchen.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The current password is wrong.</source>
        <translation>Das aktuelle Passwort ist falsch.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>The connection to the server was closed.</source>
        <translation>Die Verbindung zum Server wurde geschlossen.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The certificate of the server at {where} is not trusted.</source>
        <translation>Dem Zertifikat des Servers unter {where} wird nicht vertraut.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Cannot reach the server at {where}.</source>
        <translation>Der Server unter {where} ist nicht erreichbar.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{where} is not a valid server address.</source>
        <translation>{where} ist keine gültige Serveradresse.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The server at {where} did not answer in time.</source>
        <translation>Der Server unter {where} hat nicht rechtzeitig geantwortet.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The connection to {where} broke.</source>
        <translation>Die Verbindung zu {where} ist abgebrochen.</translation>
    </message>
</context>
<context>
    <name>phrases</name>
    <message>
        <location filename="../controller/phrases.py" line="+26"/>
        <source>You are offline: a room can be created once the connection is back.</source>
        <extracomment>The translation context of every sentence marked with QT_TRANSLATE_NOOP here.</extracomment>
        <translation>Sie sind offline: Ein Raum kann erstellt werden, sobald die Verbindung wieder steht.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The connection dropped before the server answered: try again.</source>
        <translation>Die Verbindung brach ab, bevor der Server antwortete: Bitte erneut versuchen.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The server could not be reached: try again.</source>
        <translation>Der Server war nicht erreichbar: Bitte erneut versuchen.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Room name must be 1-64 characters of a-z, 0-9, &apos;_&apos; or &apos;-&apos;.</source>
        <translation>Ein Raumname hat 1 bis 64 Zeichen aus a-z, 0-9, &apos;_&apos; oder &apos;-&apos;.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Username must be 1-32 characters of letters, digits, &apos;_&apos;, &apos;.&apos; or &apos;-&apos;.</source>
        <translation>Ein Benutzername hat 1 bis 32 Zeichen aus Buchstaben, Ziffern, &apos;_&apos;, &apos;.&apos; oder &apos;-&apos;.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Password must be 8-1024 characters long.</source>
        <translation>Ein Passwort muss 8 bis 1024 Zeichen lang sein.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Text must not be empty.</source>
        <translation>Die Nachricht darf nicht leer sein.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Text must be at most 4000 characters.</source>
        <translation>Eine Nachricht darf höchstens 4000 Zeichen haben.</translation>
    </message>
    <message>
        <location filename="../controller/uploads.py" line="+69"/>
        <source>A file of this message can no longer be read.</source>
        <translation>Eine Datei dieser Nachricht kann nicht mehr gelesen werden.</translation>
    </message>
</context>
<context>
    <name>reactions</name>
    <message>
        <location filename="../ui/reactions.py" line="+111"/>
        <source>You reacted with {emoji}</source>
        <translation>Sie haben mit {emoji} reagiert</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{names} and you reacted with {emoji}</source>
        <translation>{names} und Sie haben mit {emoji} reagiert</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{names} reacted with {emoji}</source>
        <translation>Mit {emoji} reagiert: {names}</translation>
    </message>
</context>
</TS>
