"""The stock peer of bench/compare.sh: the deployment guide's stack in about 60 lines.

FastAPI (uvicorn, 2 workers) + SQLAlchemy on PostgreSQL + Celery (2 worker processes, broker and result backend Redis),
all from Debian packages. POST /api/v1/tasks inserts a row `pending`, marks it `queued` and calls the Celery task
`.delay(id)`, which marks the row `running`, then `succeeded`. Settings: PEER_DATABASE_URL, PEER_REDIS_URL.
Run: /usr/bin/python3 -m uvicorn peer:app --workers 2   and   /usr/bin/python3 -m celery -A peer worker --concurrency 2
"""
import os
from datetime import datetime, timezone
from typing import Optional

from celery import Celery
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Integer, String, Text, create_engine
from sqlalchemy.orm import declarative_base, sessionmaker

engine = create_engine(os.environ["PEER_DATABASE_URL"], pool_size=10, max_overflow=10, pool_pre_ping=True)
Session = sessionmaker(bind=engine)
Base = declarative_base()
celery = Celery("peer", broker=os.environ["PEER_REDIS_URL"], backend=os.environ["PEER_REDIS_URL"])
app = FastAPI()


def now():
    return datetime.now(timezone.utc)


class Task(Base):
    __tablename__ = "tasks"
    id = Column(Integer, primary_key=True)
    title = Column(String(500), nullable=False)
    description = Column(Text)
    status = Column(String(20), nullable=False, default="pending")
    created_at = Column(DateTime(timezone=True), nullable=False, default=now)
    queued_at = Column(DateTime(timezone=True))
    started_at = Column(DateTime(timezone=True))
    completed_at = Column(DateTime(timezone=True))


class TaskCreate(BaseModel):
    title: str
    description: Optional[str] = None
    auto_start: bool = True


@celery.task(name="peer.run_task")
def run_task(task_id: int):
    with Session() as session:
        task = session.get(Task, task_id)
        task.status, task.started_at = "running", now()
        session.commit()
        task.status, task.completed_at = "succeeded", now()  # the no-op workflow
        session.commit()
    return task_id


@app.post("/api/v1/tasks", status_code=201)
def create_task(body: TaskCreate):
    with Session() as session:
        task = Task(title=body.title, description=body.description, status="pending")
        session.add(task)
        session.commit()
        if body.auto_start:
            task.status, task.queued_at = "queued", now()
            session.commit()
            run_task.delay(task.id)
        return {"success": True, "data": {"id": task.id, "status": task.status}}


@app.get("/health")
def health():
    return {"status": "healthy"}


if __name__ == "__main__":  # python3 peer.py: create the table (once, before the servers start)
    Base.metadata.create_all(engine)
