"""Where a Flask host's casekit settings come from (docs/production.rst).

Run with ``CASEKIT_SMTP_HOST=smtp.internal.example CASEKIT_CASE_NUMBER_PREFIX=ENV``
in the environment, as a deployment would set them.
"""

import shutil
import tempfile

from flask import Flask

from casekit import CaseKit
from casekit.errors import ConfigurationError
from casekit_flask import CaseKitFlask
from casekit_flask.config import app_settings

instance = tempfile.mkdtemp()
app = Flask(__name__, instance_path=instance)
app.config.update(
    SECRET_KEY="a secret of the deployment",
    CASEKIT_CASE_NUMBER_PREFIX="ZZ",  # app.config wins over the environment
    CASEKIT_SMTP_PORT=2525,  # native values are taken as they are
    CASEKIT_PLUGINS_BLOCK=["casekit_crm_http"],
    CASEKIT_LOAD_ENTRY_POINTS=False,
)
CaseKitFlask(app, identity_loader=lambda: None)
settings = app.extensions["casekit"].kit.settings
print("prefix:", settings.case_number_prefix)
print("SMTP:", settings.smtp_host, settings.smtp_port)
print("blocked:", settings.plugins_block)
print("database:", settings.database_url.replace(instance, "<instance>"))
print("attachments:", str(settings.attachment_dir).replace(instance, "<instance>"))

# A host that builds its own kit (with plugins, say) reads the same sources;
# keyword arguments win over them all.
kit = CaseKit(settings=app_settings(app, case_number_prefix="KW"), plugins=[])
print("own kit's prefix:", kit.settings.case_number_prefix)
kit.close()

# A misspelled key stops the app at start-up.
typo = Flask(__name__, instance_path=instance)
typo.config.update(SECRET_KEY="a secret of the deployment", CASEKIT_SMTP_HOTS="smtp.example")
try:
    CaseKitFlask(typo, identity_loader=lambda: None)
except ConfigurationError as error:
    print(error)

shutil.rmtree(instance)
