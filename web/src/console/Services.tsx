import { useState } from 'react'
import type { FormEvent } from 'react'
import { useQuery, useQueryClient } from '@tanstack/react-query'
import type { Service } from '../api/client'
import { useShop } from '../data'
import { ErrorText, Field, Loading } from '../ui'
import { allServicesQuery, money, raw } from './data'
import { Modal, Refusal } from './parts'

export default function Services() {
  const shop = useShop()
  const qc = useQueryClient()
  const list = useQuery(allServicesQuery)
  const [editing, setEditing] = useState<Service | 'new' | null>(null)
  const [problem, setProblem] = useState<unknown>(null)
  const [note, setNote] = useState('')
  const [deleting, setDeleting] = useState<number | null>(null)

  async function remove(s: Service) {
    setProblem(null)
    try {
      await raw('DELETE', `/api/services/${s.id}/`)
      await qc.invalidateQueries({ queryKey: ['console'] })
      await qc.invalidateQueries({ queryKey: ['services'] })
      setNote(`${s.name} deleted.`)
    } catch (e) {
      setProblem(e)
    } finally {
      setDeleting(null)
    }
  }

  return (
    <section aria-labelledby="svc-title">
      <h1 id="svc-title">Services</h1>
      <div className="actions">
        <button type="button" className="accent" onClick={() => setEditing('new')}>
          Add a service
        </button>
      </div>
      <div className="live" role="status">
        {note}
      </div>
      <Refusal error={problem} />
      {list.error && <ErrorText error={list.error} />}
      {list.isPending ? (
        <Loading what="services" />
      ) : (
        <table className="table">
          <caption className="sr-only">Services</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" className="num">
                Duration
              </th>
              <th scope="col" className="num">
                Clean-up
              </th>
              <th scope="col" className="num">
                Price
              </th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(list.data ?? []).map((s) => (
              <tr key={s.id}>
                <td>
                  {s.name}
                  {s.description && <div className="hint">{s.description}</div>}
                </td>
                <td className="num">{s.duration_minutes} min</td>
                <td className="num">{s.buffer_after_minutes} min</td>
                <td className="num">{money(s.price, shop.currency)}</td>
                <td>{s.is_active ? 'Offered' : 'Not offered'}</td>
                <td>
                  <div className="actions">
                    <button type="button" onClick={() => setEditing(s)}>
                      Edit<span className="sr-only"> {s.name}</span>
                    </button>
                    {deleting === s.id ? (
                      <>
                        <button type="button" className="danger" onClick={() => void remove(s)}>
                          Delete {s.name} for good
                        </button>
                        <button type="button" onClick={() => setDeleting(null)}>
                          Keep
                        </button>
                      </>
                    ) : (
                      <button type="button" onClick={() => setDeleting(s.id)}>
                        Delete…<span className="sr-only"> {s.name}</span>
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && (
        <ServiceDialog
          service={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onDone={(text) => {
            setEditing(null)
            setNote(text)
          }}
        />
      )}
    </section>
  )
}

function ServiceDialog({
  service,
  onClose,
  onDone,
}: {
  service: Service | null
  onClose: () => void
  onDone: (text: string) => void
}) {
  const qc = useQueryClient()
  const [problem, setProblem] = useState<unknown>(null)
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault()
    const f = new FormData(e.currentTarget)
    const price = String(f.get('price') ?? '').replace(',', '.')
    const body = {
      name: String(f.get('name') ?? ''),
      description: String(f.get('description') ?? ''),
      duration_minutes: Number(f.get('duration_minutes')),
      buffer_after_minutes: Number(f.get('buffer_after_minutes') || 0),
      price: /^\d+(\.\d{1,2})?$/.test(price) ? Number(price).toFixed(2) : price,
      is_active: f.get('is_active') === 'on',
    }
    setProblem(null)
    try {
      if (service) await raw('PATCH', `/api/services/${service.id}/`, body)
      else await raw('POST', '/api/services/', body)
      await qc.invalidateQueries({ queryKey: ['console'] })
      await qc.invalidateQueries({ queryKey: ['services'] })
      onDone(`${body.name} saved.`)
    } catch (err) {
      setProblem(err)
    }
  }
  return (
    <Modal title={service ? `Edit ${service.name}` : 'Add a service'} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Field label="Name" name="name" defaultValue={service?.name ?? ''} problem={problem} />
        <Field
          label="Description (optional)"
          name="description"
          defaultValue={service?.description ?? ''}
          problem={problem}
        />
        <div className="form-row">
          <Field
            label="Duration (minutes)"
            name="duration_minutes"
            type="number"
            min={5}
            step={5}
            defaultValue={service?.duration_minutes ?? 30}
            problem={problem}
          />
          <Field
            label="Clean-up after (minutes)"
            name="buffer_after_minutes"
            type="number"
            min={0}
            step={5}
            defaultValue={service?.buffer_after_minutes ?? 0}
            problem={problem}
          />
          <Field
            label="Price"
            name="price"
            inputMode="decimal"
            defaultValue={service?.price ?? ''}
            problem={problem}
            hint="For example 25.00"
          />
        </div>
        <label className="check">
          <input type="checkbox" name="is_active" defaultChecked={service?.is_active ?? true} />
          Offered on the booking page
        </label>
        <Refusal error={problem} />
        <div className="actions">
          <button type="submit" className="accent">
            Save
          </button>
        </div>
      </form>
    </Modal>
  )
}
