import tempfile, time, logging
logging.disable(logging.INFO)
from flask_migrate import upgrade
from shelter import create_app
from shelter.extensions import db
from bench.board import build
from shelter.services.people import tonight
from shelter.services import intake, allocation
tmp = tempfile.mkdtemp()
app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/b.db", "SECRET_KEY": "x", "WTF_CSRF_ENABLED": False})
with app.app_context():
    upgrade(); build(1000, tonight())
    allocation.run_allocation(db.session, tonight(), city="Bergen", user=None); db.session.commit()
    with app.test_request_context():
        from flask import render_template
        from shelter.forms.intake import ButtonForm
        for i in range(4):
            c0=time.process_time(); b=intake.board(db.session, tonight(), "Bergen"); c1=time.process_time()
            render_template("intake/board.html", b=b, form=ButtonForm(), is_tonight=True); c2=time.process_time()
            allocation.audit(db.session, None, "view_board", [r.person_id for r in b.rows], "x"); db.session.flush(); c3=time.process_time()
            db.session.rollback()
            print("service", round((c1-c0)*1000), "render", round((c2-c1)*1000), "audit", round((c3-c2)*1000))
