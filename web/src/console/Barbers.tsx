export default function Barbers(_props: Record<string, unknown>) {
  return <h1>Barbers</h1>
}
