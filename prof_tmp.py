import cProfile, pstats, tempfile, time, logging
logging.disable(logging.INFO)
from flask_migrate import upgrade
from shelter import create_app
from shelter.extensions import db
from bench.board import build, PASSWORD
from shelter.services.people import tonight
tmp = tempfile.mkdtemp()
app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/b.db", "SECRET_KEY": "x", "WTF_CSRF_ENABLED": False})
with app.app_context():
    upgrade(); build(1000, tonight())
    from shelter.services.allocation import run_allocation
    run_allocation(db.session, tonight(), city="Bergen", user=None); db.session.commit()
c = app.test_client(); c.post("/login", data={"username": "intake", "password": PASSWORD})
for i in range(3):
    t=time.perf_counter(); c.get("/intake/"); print("ms", (time.perf_counter()-t)*1000)
pr = cProfile.Profile(); pr.enable()
c.get("/intake/")
pr.disable()
pstats.Stats(pr).sort_stats("tottime").print_stats(25)
