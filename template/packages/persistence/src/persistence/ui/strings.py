"""The package's own UI strings (process sidebar, new-process form, save status, login,
errors, the persistent file upload), in every language.

``t("key", name=...)`` looks a string up in the configured ``ui_language``. The apps keep
their wording beside them (``apps/<app>/strings.toml``), looked up by the same
``StringTable``. The English error sentences are ``persistence.errors.MESSAGES``: only
their translations are here.
"""

from __future__ import annotations

from persistence.errors import MESSAGES, PersistenceError
from persistence.i18n import StringTable

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        # process sidebar
        "sidebar.title": "Process",
        "sidebar.select": "Active process",
        "sidebar.placeholder": "Choose a process",
        "sidebar.none": "No process yet. Create one on the New process page.",
        "sidebar.updated": "Updated {when}",
        "sidebar.search": "Search processes",
        "sidebar.search_hint": "Part of a name",
        "sidebar.more": "The {shown} most recently updated of {total} processes are listed. "
        "Search to find the others.",
        "sidebar.matches": "{count} processes match; the {shown} most recently updated are listed.",
        "sidebar.no_match": "No process name contains “{query}”.",
        "sidebar.manage": "Rename, duplicate or delete",
        "sidebar.rename_label": "New name",
        "sidebar.rename_button": "Rename",
        "sidebar.copy_label": "Name of the copy",
        "sidebar.copy_default": "{name} (copy)",
        "sidebar.copy_button": "Duplicate",
        "sidebar.copy_help": "Copies everything saved in this process (tables and files "
        "included) under a new name and opens the copy.",
        "sidebar.delete_button": "Delete this process",
        "sidebar.delete_confirm": "Delete {name} and everything saved in it?",
        "sidebar.delete_yes": "Yes, delete",
        "sidebar.delete_no": "Cancel",
        "status.saved": "Saved at {time}",
        "status.unsaved": "Unsaved changes",
        "status.changed_elsewhere": "Changed by someone else at {time}",
        "status.changed_by": "{who} changed {keys} at {time}",
        "status.overwritten": "{who} changed {name} while you were editing it: your value "
        "was saved over theirs. History can bring either back.",
        "status.unavailable": "Storage unavailable: your changes are kept in this tab and "
        "saved when it is back. ({detail})",
        "status.gone": "This process was deleted or expired elsewhere; changes are no longer "
        "saved. Choose or create another process.",
        "status.unstorable": "Not saved: {detail}",
        "status.misfit": "The saved value of {name} no longer fits this page and is not "
        "shown. It stays saved until you change this value.",
        "toast.created": "Created {name}",
        "toast.renamed": "Renamed to {name}",
        "toast.copied": "Copied to {name}",
        "toast.undo": "Change undone",
        "toast.restore": "Process restored",
        "toast.unchanged": "Nothing to change: the keys hold those values already",
        "sidebar.history": "History",
        "history.none": "No changes yet.",
        "history.select": "Change",
        "history.entry": "{time} · {who} {what}",
        "history.save": "changed {keys}",
        "history.undo": "undid {keys}",
        "history.restore": "restored {keys}",
        "history.guest": "guest {tag}",
        "history.undo_button": "Undo this change",
        "history.restore_button": "Restore to here",
        "toast.deleted": "Deleted {name}",
        # errors, by PersistenceError.code: the English sentences are errors.MESSAGES
        **{f"error.{code}": sentence for code, sentence in MESSAGES.items()},
        "login.intro": "Sign in to see your own processes. Nobody else can see or change them.",
        "login.button": "Log in",
        "login.not_configured": "Sign-in is not configured yet. Add an [auth] table to "
        ".streamlit/secrets.toml with these settings from your identity provider: {missing}. "
        "For example:",
        "login.no_authlib": "Per-user processes sign users in with st.login, which needs the "
        "Authlib package. This project does not have it: add it, then restart the app.",
        "login.failed": "Sign-in failed: {detail}",
        "login.dev_user": "Development sign-in as {user} (PERSIST_DEV_USER): this machine only.",
        # the new-process form
        "new.title": "New process",
        "new.intro": "A process is a named workspace: everything you enter on the other pages "
        "is saved to it and comes back after a reload, a new session or a server restart.",
        "new.name": "Process name",
        "new.name_help": "Any text, e.g. 2025年1月_週次レポート (at most 200 characters).",
        "new.create": "Create",
        # persistent_file_uploader
        "upload.kept": ":material/attach_file: **{name}** · {size} bytes · {type}",
        "upload.remove": "Remove",
        "upload.replace": "{label} (replaces the file above)",
        "upload.too_large": "{name} is too large to keep in {saved_as}: it takes {size} bytes once "
        "saved, over the limit of {limit} bytes.",
    },
    "ja": {
        "sidebar.title": "プロセス",
        "sidebar.select": "選択中のプロセス",
        "sidebar.placeholder": "プロセスを選択",
        "sidebar.none": "プロセスがまだありません。「新規プロセス」ページで作成してください。",
        "sidebar.updated": "{when} に更新",
        "sidebar.search": "プロセスを検索",
        "sidebar.search_hint": "名前の一部",
        "sidebar.more": "{total} 件のうち、最近更新された {shown} 件を表示しています。"
        "ほかのプロセスは検索してください。",
        "sidebar.matches": "{count} 件が一致しました。最近更新された {shown} 件を表示しています。",
        "sidebar.no_match": "「{query}」を名前に含むプロセスはありません。",
        "sidebar.manage": "名前の変更・複製・削除",
        "sidebar.rename_label": "新しい名前",
        "sidebar.rename_button": "名前を変更",
        "sidebar.copy_label": "複製の名前",
        "sidebar.copy_default": "{name} のコピー",
        "sidebar.copy_button": "複製",
        "sidebar.copy_help": "このプロセスに保存された内容（表やファイルも含む）をすべて"
        "新しい名前で複製し、複製を開きます。",
        "sidebar.delete_button": "このプロセスを削除",
        "sidebar.delete_confirm": "{name} と保存されたすべての内容を削除しますか？",
        "sidebar.delete_yes": "削除する",
        "sidebar.delete_no": "キャンセル",
        "status.saved": "{time} に保存済み",
        "status.unsaved": "未保存の変更があります",
        "status.changed_elsewhere": "{time} に他の人が変更しました",
        "status.changed_by": "{time} に {who} が {keys} を変更しました",
        "status.overwritten": "{who} が編集中の {name} を変更しました。あなたの値で上書き保存"
        "しました。どちらの値も履歴から戻せます。",
        "status.unavailable": "ストレージに接続できません。変更はこのタブに保持され、"
        "復旧後に保存されます。（{detail}）",
        "status.gone": "このプロセスは他の場所で削除されたか期限切れです。変更は保存されません。"
        "別のプロセスを選択または作成してください。",
        "status.unstorable": "保存できません: {detail}",
        "status.misfit": "{name} の保存された値は現在のページに合わないため表示していません。"
        "値を変更するまで、保存された値はそのまま残ります。",
        "toast.created": "{name} を作成しました",
        "toast.renamed": "{name} に名前を変更しました",
        "toast.copied": "{name} に複製しました",
        "toast.undo": "変更を元に戻しました",
        "toast.restore": "プロセスを復元しました",
        "toast.unchanged": "変更はありません（すでにその値です）",
        "sidebar.history": "履歴",
        "history.none": "まだ変更はありません。",
        "history.select": "変更",
        "history.entry": "{time} · {who}: {what}",
        "history.save": "{keys} を変更",
        "history.undo": "{keys} を元に戻した",
        "history.restore": "{keys} を復元",
        "history.guest": "ゲスト {tag}",
        "history.undo_button": "この変更を元に戻す",
        "history.restore_button": "この時点に戻す",
        "toast.deleted": "{name} を削除しました",
        "error.name.not_text": "プロセス名はテキストで指定してください（{type} は使えません）。",
        "error.name.empty": "プロセス名を入力してください。",
        "error.name.too_long": "プロセス名は {limit} 文字以内にしてください"
        "（現在 {length} 文字）。",
        "error.name.control": "プロセス名に制御文字は使えません（U+{codepoint}）。",
        "error.exists": "「{name}」という名前のプロセスはすでに存在します。",
        "error.not_found": "プロセス「{name}」は存在しません（削除されたか期限切れです）。",
        "error.unstorable": "{key} は保存できません: {reason}",
        "error.value_too_large": "{key} は {size} バイトあり、1 つの値の上限 {limit} バイトを"
        "超えています。ほかのキーは保存されます。",
        "error.too_large": "プロセスのサイズが {size} バイトになり、上限の {limit} バイトを"
        "超えます。保存されていないキー: {refused}（ほかのキーは保存されます）。"
        "大きいキー: {keys}。",
        "error.corrupt": "プロセス「{name}」は破損しているため開けません（{detail}）。"
        "保存されたデータはそのまま残っています。",
        "error.corrupt_copied": "プロセス「{name}」は破損しているため開けません（{detail}）。"
        "破損したデータのコピーを {copy} に保存しました。",
        "error.unavailable": "ストレージに接続できません: {detail}",
        "error.conflict": "プロセス「{name}」は移行中に変更されたため、何も書き込みませんでした。",
        "error.migration_failed": "プロセス「{name}」を開けません: 移行 {migration} が失敗しました"
        "（{detail}）。プロセスは元のまま残っています。",
        "error.migration_newer": "プロセス「{name}」はこのアプリの新しいバージョンで"
        "移行されています（{unknown}）。このサーバーは何も書き込みません。すべてのサーバーが新しいバージョンに"
        "なってから開いてください。",
        "login.intro": "ログインすると自分のプロセスが表示されます。"
        "他のユーザーは閲覧も変更もできません。",
        "login.button": "ログイン",
        "login.not_configured": "ログインがまだ設定されていません。.streamlit/secrets.toml に "
        "[auth] テーブルを追加し、ID プロバイダーの次の設定を書いてください: {missing}。例:",
        "login.no_authlib": "ユーザーごとのプロセスは st.login でログインします。st.login には "
        "Authlib パッケージが必要ですが、このプロジェクトにはありません。"
        "追加してからアプリを再起動してください。",
        "login.failed": "ログインに失敗しました: {detail}",
        "login.dev_user": "開発用サインイン: {user}（PERSIST_DEV_USER）。"
        "このマシンでのみ有効です。",
        "new.title": "新規プロセス",
        "new.intro": "プロセスは名前付きの作業スペースです。"
        "他のページで入力した内容はここに保存され、再読み込み・新しいセッション・サーバー再起動の後も復元されます。",
        "new.name": "プロセス名",
        "new.name_help": "任意のテキスト（例: 2025年1月_週次レポート、200文字以内）。",
        "new.create": "作成",
        "upload.kept": ":material/attach_file: **{name}** · {size} バイト · {type}",
        "upload.remove": "削除",
        "upload.replace": "{label}（上のファイルを置き換えます）",
        "upload.too_large": "{name} は大きすぎるため {saved_as} に保存できません"
        "（保存すると {size} バイトになり、上限の {limit} バイトを超えます）。",
    },
}


t = StringTable(STRINGS)


def describe(error: PersistenceError, language: str | None = None) -> str:
    """``error`` in the user's language: its ``code`` picks the sentence, ``params`` fill it.
    In English this is ``str(error)``. An error without a sentence (configuration, say)
    shows its own English message."""
    sentence = t.get(f"error.{error.code}", language)
    if sentence is None:
        return str(error)
    return sentence.format(**error.params)
